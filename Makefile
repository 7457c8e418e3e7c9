# custodian: build, run, test.
SHELL := /bin/bash
GO ?= go
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
# Tools the tests need that are built from source are cached here (git-ignored).
TOOLS := $(CURDIR)/.cache/bin
MINIO_VERSION := v0.0.0-20260212201848-7aac2a2c5b7c
export PATH := $(TOOLS):$(PATH)

.PHONY: build run test deps vet unit e2e bench bench-archive bench-rooms fuzz clean

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/custodian ./cmd/custodian

# Quick start: local-only daemon on configs/quickstart.yaml.
run: build
	mkdir -p var/docks/dock-a
	test -s var/users || (umask 077 && ./bin/custodian user add "$$(id -un)" --role supervisor --users-file var/users > var/token)
	./bin/custodian serve --config configs/quickstart.yaml

test: deps vet unit e2e

# deps installs what the tests need when it is missing.
deps:
	@bash scripts/test-deps.sh

vet:
	@test -z "$$(gofmt -l .)" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	$(GO) vet ./...
	$(GO) vet -tags e2e ./e2e/...
	staticcheck ./...
	staticcheck -tags e2e ./e2e/...

unit:
	$(GO) test -race -count=1 ./...

e2e: build
	$(GO) test -count=1 -tags e2e -timeout 30m ./e2e/...

bench:
	bash bench/ingest.sh

# Archive upload throughput next to mc cp (builds mc into .cache/bin when missing).
bench-archive:
	bash bench/archive.sh
# Interview rooms: custodian vs ffmpeg -c copy -f segment, 16 streams, 60 s each.
bench-rooms:
	bash bench/rooms.sh 32 60

# Short fuzzing of every parser of outside input; the corpus is committed.
fuzz:
	$(GO) test ./hardware/camera -run '^$$' -fuzz '^FuzzParse$$' -fuzztime 30s
	$(GO) test ./internal/text -run '^$$' -fuzz FuzzPrintable -fuzztime 30s
	$(GO) test ./hardware/camera -run '^$$' -fuzz FuzzParseDeviceFile -fuzztime 30s
	$(GO) test ./internal/config -run '^$$' -fuzz FuzzParseConfig -fuzztime 30s
	$(GO) test ./retention -run '^$$' -fuzz FuzzParsePeriod -fuzztime 30s
	$(GO) test ./admin -run '^$$' -fuzz FuzzParseFilter -fuzztime 30s
	$(GO) test ./admin -run '^$$' -fuzz FuzzMutation -fuzztime 30s
	$(GO) test ./hardware/disk -run '^$$' -fuzz FuzzParseSMART -fuzztime 30s
	$(GO) test ./hardware/disk -run '^$$' -fuzz FuzzUnescapeMount -fuzztime 30s
	$(GO) test ./ingest/room -run '^$$' -fuzz FuzzDescribe -fuzztime 30s
	$(GO) test ./ingest/room -run '^$$' -fuzz FuzzDepacketize -fuzztime 30s
	$(GO) test ./ingest/room -run '^$$' -fuzz FuzzParseCredentials -fuzztime 30s

clean:
	rm -rf bin var
