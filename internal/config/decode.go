package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Load reads a config file, decodes and validates it, and checks the files
// it names for secrets: the error lists every problem found, each with its
// key path. The secrets themselves are read again by ReadSecrets when used.
func Load(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	cfg, p := parse(b)
	if cfg != nil {
		_, sp := cfg.readSecrets()
		p = append(p, sp...)
	}
	if len(p) > 0 {
		return nil, fmt.Errorf("config %s:\n  %s", path, strings.Join(p, "\n  "))
	}
	return cfg, nil
}

// Parse decodes config text strictly on top of Defaults and validates it.
// It reads none of the secret files the config names (see ReadSecrets).
func Parse(b []byte) (*Config, error) {
	cfg, p := parse(b)
	if len(p) > 0 {
		return nil, p
	}
	return cfg, nil
}

// parse returns the config with every problem of decoding and validation;
// the config is nil when the text is not one YAML document.
func parse(b []byte) (*Config, problems) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, problems{"the file is empty"}
		}
		return nil, problems{err.Error()}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, problems{"more than one YAML document"}
	}
	cfg := Defaults()
	var d decoder
	d.decode(&doc, reflect.ValueOf(&cfg).Elem(), "")
	p := d.problems
	// Validate even when some values did not decode: every problem at once.
	for i := range cfg.Docks {
		dockDefaults(&cfg.Docks[i])
	}
	for i := range cfg.Rooms {
		roomDefaults(&cfg.Rooms[i])
	}
	if cfg.Archive != nil {
		archiveDefaults(cfg.Archive)
	}
	p = append(p, cfg.validate()...)
	return &cfg, p
}

// problems are every problem of a config, one per line, each starting
// with its key path.
type problems []string

func (p problems) Error() string { return strings.Join(p, "\n") }

// add appends the problem at key path ("": the whole file).
func (p *problems) add(path, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if path != "" {
		msg = path + ": " + msg
	}
	*p = append(*p, msg)
}

// err is nil when there are no problems.
func (p problems) err() error {
	if len(p) == 0 {
		return nil
	}
	return p
}

var unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()

// maxAliases bounds the aliases decode follows: each may repeat a large
// part of the document, and a config has no need for many.
const maxAliases = 100

// decoder collects the problems of decoding a document.
type decoder struct {
	problems
	aliases int
}

// decode walks the document beside the Go value, so that every unknown key
// and every value that does not decode is a problem named by its key path
// and line. Structs and lists of them are walked here; every other value
// (a typed value is a yaml.Unmarshaler) is decoded by yaml.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	for n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		if d.aliases++; d.aliases > maxAliases {
			d.add(path, "more than %d aliases (line %d)", maxAliases, n.Line)
			return
		}
		n = n.Alias // the Go type bounds the depth, so cycles end
	}
	t := v.Type()
	walk := func(t reflect.Type) bool {
		return t.Kind() == reflect.Struct && !reflect.PointerTo(t).Implements(unmarshalerType)
	}
	switch {
	case n.Kind == yaml.MappingNode && walk(t):
		d.mapping(n, v, path)
	case n.Kind == yaml.MappingNode && t.Kind() == reflect.Pointer && walk(t.Elem()):
		if v.IsNil() {
			v.Set(reflect.New(t.Elem()))
		}
		d.mapping(n, v.Elem(), path)
	case n.Kind == yaml.SequenceNode && t.Kind() == reflect.Slice && walk(t.Elem()):
		s := reflect.MakeSlice(t, len(n.Content), len(n.Content))
		for i, c := range n.Content {
			d.decode(c, s.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
		v.Set(s)
	default:
		d.value(n, v, path)
	}
}

// mapping decodes a mapping into the struct v.
func (d *decoder) mapping(n *yaml.Node, v reflect.Value, path string) {
	fields := map[string]int{}
	for i := range v.NumField() {
		if name, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("yaml"), ","); name != "" && name != "-" {
			fields[name] = i
		}
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		at := joinPath(path, k.Value)
		f, ok := fields[k.Value]
		switch {
		case !ok:
			d.add(at, "unknown key (line %d)%s", k.Line, suggest(k.Value, fields))
		case seen[k.Value] != 0:
			d.add(at, "given twice (lines %d and %d)", seen[k.Value], k.Line)
		default:
			seen[k.Value] = k.Line
			d.decode(n.Content[i+1], v.Field(f), at)
		}
	}
}

// value decodes one value with yaml; its problems name path and line.
func (d *decoder) value(n *yaml.Node, v reflect.Value, path string) {
	err := n.Decode(v.Addr().Interface())
	var te *yaml.TypeError
	switch {
	case err == nil:
	case errors.As(err, &te):
		for _, msg := range te.Errors {
			line := n.Line
			// yaml says "line N: cannot unmarshal ...": the line goes last.
			if rest, ok := strings.CutPrefix(msg, "line "); ok {
				if num, text, ok := strings.Cut(rest, ": "); ok {
					if l, err := strconv.Atoi(num); err == nil {
						line, msg = l, text
					}
				}
			}
			d.add(path, "%s (line %d)", msg, line)
		}
	default:
		d.add(path, "%v (line %d)", err, n.Line)
	}
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func suggest(key string, fields map[string]int) string {
	var names []string
	for f := range fields {
		names = append(names, f)
	}
	slices.Sort(names)
	for _, f := range names {
		if closeTo(key, f) {
			return fmt.Sprintf("; did you mean %q?", f)
		}
	}
	return ""
}

// closeTo is true for a one-edit typo.
func closeTo(a, b string) bool {
	if a == b || len(a)-len(b) > 1 || len(b)-len(a) > 1 {
		return false
	}
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	return a[min(i+1, len(a)):] == b[min(i+1, len(b)):] || a[i:] == b[min(i+1, len(b)):] || a[min(i+1, len(a)):] == b[i:]
}
