package room

import (
	"math/rand/v2"
	"time"
)

// retryWait is how long to wait before the next attempt, age into an
// outage: BackoffMin through the first FastRetry, so that recording resumes
// at most about BackoffMin after the camera is back; after that a quarter
// of the time past FastRetry (an outage then costs at most a quarter more
// than itself), capped at BackoffMax so a dead camera is not hammered.
func retryWait(age time.Duration, c Config) time.Duration {
	if age < c.FastRetry {
		return c.BackoffMin
	}
	return min(max((age-c.FastRetry)/4, c.BackoffMin), c.BackoffMax)
}

// jittered takes up to a quarter off a wait past the fast retries, so rooms
// that lost their cameras together do not retry in step; a fast retry
// stays exact.
func jittered(wait, age time.Duration, c Config) time.Duration {
	if age < c.FastRetry || wait <= c.BackoffMin {
		return wait
	}
	return wait - rand.N(wait/4+1)
}
