package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/awsoidc/awsoidc/ststest"
)

// A process start costs what the machine makes it cost (17-28 ms for
// "awsoidc --version" on some machines, a few ms on others), so the
// benchmarks below measure a warm credential-process call against two
// references run in the same way: an empty Go program, and the binary's
// own start (awsoidc --version). BenchmarkWarmCallRatio runs the three
// interleaved and reports the ratios, which carry from one machine to
// another better than milliseconds do:
//
//	go test -run '^$' -bench 'Start|WarmC' -benchtime 100x -count 5 ./cmd/awsoidc/

// benchExecTimeout bounds one run of a program in a benchmark.
const benchExecTimeout = time.Minute

// benchRunner returns a function that runs name with args to completion,
// output captured as the AWS CLI captures credential_process output, and
// fails b if it does not exit 0.
func benchRunner(b *testing.B, env []string, name string, args ...string) func() {
	return func() {
		ctx, cancel := context.WithTimeout(b.Context(), benchExecTimeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, name, args...)
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
	}
}

// benchBuildEmptyProgram builds "func main() {}" with the same go build as
// TestMain's, into a temporary directory of b, and returns its path.
func benchBuildEmptyProgram(b *testing.B) string {
	b.Helper()
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\n\nfunc main() {}\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(b.Context(), 5*time.Minute)
	defer cancel()
	exe := filepath.Join(dir, "empty")
	build := exec.CommandContext(ctx, "go", "build", "-o", exe, "main.go")
	build.Dir = dir
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("building an empty Go program: %v\n%s", err, out)
	}
	return exe
}

// benchWarmCredentialProcess returns a run of credential-process against f
// after one cold run has filled the store.
func benchWarmCredentialProcess(b *testing.B, f *fixture) func() {
	run := benchRunner(b, f.env(), bin, f.args("credential-process")...)
	run() // cold: fills the store
	return run
}

// benchCheckWarm fails b unless every call after the first was served from the
// store.
func benchCheckWarm(b *testing.B, f *fixture) {
	b.Helper()
	if n := f.srv.Calls(ststest.ActionAssumeRoleWithWebIdentity); n != 1 {
		b.Fatalf("AssumeRoleWithWebIdentity calls = %d, want 1: warm calls reached STS", n)
	}
}

// BenchmarkWarmCredentialProcess measures a warm credential-process call as
// the AWS CLI makes it: a new process that finds its credentials in the
// store and calls no STS. Each iteration is one exec of the binary.
//
//	go test -run '^$' -bench WarmCredentialProcess -benchtime 200x ./cmd/awsoidc/
func BenchmarkWarmCredentialProcess(b *testing.B) {
	f := newFixture(b)
	run := benchWarmCredentialProcess(b, f)
	for b.Loop() {
		run()
	}
	b.StopTimer()
	benchCheckWarm(b, f)
}

// BenchmarkStartEmptyGoProgram measures the start of a Go program that
// does nothing: the floor of any Go command on this machine.
func BenchmarkStartEmptyGoProgram(b *testing.B) {
	run := benchRunner(b, []string{}, benchBuildEmptyProgram(b))
	for b.Loop() {
		run()
	}
}

// BenchmarkStartVersion measures the binary's own start: "awsoidc
// --version" reads no file and makes no request.
func BenchmarkStartVersion(b *testing.B) {
	f := newFixture(b)
	run := benchRunner(b, f.env(), bin, "--version")
	for b.Loop() {
		run()
	}
}

// BenchmarkWarmCallRatio runs an empty Go program, "awsoidc --version" and a
// warm credential-process in turn, in a rotating order, so that whatever
// load the machine has falls on the three alike, and reports the ratios of
// their median times:
//
//	warm/start   warm credential-process / awsoidc --version
//	start/empty  awsoidc --version / an empty Go program
//
// and each median in milliseconds (empty-ms, start-ms, warm-ms). ns/op is
// the time of one round of three runs.
func BenchmarkWarmCallRatio(b *testing.B) {
	f := newFixture(b)
	runs := []func(){
		benchRunner(b, []string{}, benchBuildEmptyProgram(b)),
		benchRunner(b, f.env(), bin, "--version"),
		benchWarmCredentialProcess(b, f),
	}
	var times [3][]time.Duration
	round := 0
	for b.Loop() {
		for k := range runs {
			i := (round + k) % len(runs)
			start := time.Now()
			runs[i]()
			times[i] = append(times[i], time.Since(start))
		}
		round++
	}
	b.StopTimer()
	benchCheckWarm(b, f)
	empty, start, warm := benchMedian(times[0]), benchMedian(times[1]), benchMedian(times[2])
	b.ReportMetric(float64(warm)/float64(start), "warm/start")
	b.ReportMetric(float64(start)/float64(empty), "start/empty")
	b.ReportMetric(float64(empty)/float64(time.Millisecond), "empty-ms")
	b.ReportMetric(float64(start)/float64(time.Millisecond), "start-ms")
	b.ReportMetric(float64(warm)/float64(time.Millisecond), "warm-ms")
}

// benchMedian returns the median of ds (the mean of the middle two for an even
// count).
func benchMedian(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
