package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/awsoidc/awsoidc/internal/backoff"
	"github.com/awsoidc/awsoidc/internal/securefile"
)

// An outage record is what the one-shot commands share, beside the stored
// credentials, about the last refresh that failed: when, why, and when the
// next attempt is due. Each process is short-lived, so the backoff that the
// cache keeps in memory lives in the store instead: N processes started
// during an STS outage make one attempt per backoff step between them, and
// those that come in between answer at once, with the stored credentials
// that have not expired, or else with the recorded error.
//
// Only transient failures are recorded (throttling, 5xx, transport errors,
// an STS or identity provider that does not answer in time): a permanent
// one (access denied, a rejected claim) is the caller's to fix, and the
// next process asks STS again at once.

// outageVersion is the version of the record's file format; a file of any
// other version is no record.
const outageVersion = 1

// outageBackoff spaces the attempts of all the processes sharing a store
// after consecutive failures: full jitter, at least Min, at most Max. Max
// is short because a process without valid credentials fails while an
// attempt is not due: a minute at most after STS is back.
var outageBackoff = backoff.Policy{Min: 2 * time.Second, Max: time.Minute}

// outageForget is how old a record may be before it is no record: a
// process killed before it could clear it must not slow the next
// outage's first attempts.
const outageForget = 15 * time.Minute

// outageRecord is the file format. Error holds the failure's message with
// every secret of the process scrubbed.
type outageRecord struct {
	Version     int       `json:"version"`
	Failures    int       `json:"failures"`
	FailedAt    time.Time `json:"failed_at"`
	NextAttempt time.Time `json:"next_attempt"`
	Error       string    `json:"error"`
	// Partial is a timeout that cut the attempt short of the full
	// --timeout (the 3-second budget of a process holding valid
	// credentials, or a lock had late): processes without valid
	// credentials make their own attempt.
	Partial bool `json:"partial,omitempty"`
}

// due reports whether an attempt may be made at now.
func (r outageRecord) due(now time.Time) bool { return r.Failures == 0 || !now.Before(r.NextAttempt) }

// outagePath is the record of the credentials stored at credsPath.
func outagePath(credsPath string) string {
	return strings.TrimSuffix(credsPath, ".json") + ".outage.json"
}

// loadOutage reads the record at path. A missing, unreadable, corrupt,
// other-version or forgotten record is no record (the zero value).
func loadOutage(path string, now time.Time) outageRecord {
	data, err := securefile.ReadFile(path, 16<<10)
	if err != nil {
		return outageRecord{}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var r outageRecord
	if err := dec.Decode(&r); err != nil {
		return outageRecord{}
	}
	if _, err := dec.Token(); err != io.EOF {
		return outageRecord{}
	}
	if r.Version != outageVersion || r.Failures <= 0 || now.Sub(r.FailedAt) > outageForget || r.NextAttempt.Sub(r.FailedAt) > outageBackoff.Max {
		return outageRecord{}
	}
	return r
}

// saveOutage writes r at path, replacing any record.
func saveOutage(path string, r outageRecord) error {
	r.Version = outageVersion
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return securefile.WriteFile(path, append(data, '\n'))
}

// clearOutage removes the record at path, if any.
func clearOutage(path string) error {
	if err := securefile.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// nextOutage returns the record of one more failure after prev, at now,
// with message msg. u is a uniform random number in [0, 1) for the jitter.
// While stale, stored credentials that have not expired, is valid, the next
// attempt comes no later than 10 seconds before it expires (but never
// sooner than outageBackoff.Min): there is always a last chance.
func nextOutage(prev outageRecord, now time.Time, msg string, stale aws.Credentials, u float64) outageRecord {
	p := outageBackoff
	p.Rand = func() float64 { return u }
	wait := max(p.Delay(prev.Failures), p.Min)
	next := now.Add(wait)
	if stale.HasKeys() && stale.CanExpire && stale.Expires.After(now) {
		if last := stale.Expires.Add(-10 * time.Second); next.After(last) {
			next = maxTime(last, now.Add(p.Min))
		}
	}
	return outageRecord{
		Version:     outageVersion,
		Failures:    prev.Failures + 1,
		FailedAt:    now.UTC().Round(0),
		NextAttempt: next.UTC().Round(0),
		Error:       msg,
	}
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// outageError is what a process without valid credentials answers while
// the next attempt is not due: the failure another process recorded.
type outageError struct {
	rec outageRecord
	now time.Time
}

func (e *outageError) Error() string {
	return fmt.Sprintf("%s (failed %s ago, %d time(s) in a row; awsoidc processes sharing this credentials store make the next attempt in %s, at %s)",
		e.rec.Error, roundDuration(e.now.Sub(e.rec.FailedAt)), e.rec.Failures,
		roundDuration(e.rec.NextAttempt.Sub(e.now)), e.rec.NextAttempt.Local().Format(time.TimeOnly))
}

// roundDuration rounds d for people: to a tenth of a second under ten
// seconds, else to the second.
func roundDuration(d time.Duration) time.Duration {
	if d < 10*time.Second {
		return d.Round(100 * time.Millisecond)
	}
	return d.Round(time.Second)
}
