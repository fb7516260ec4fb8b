package cache

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// helperEnv, set in the environment of a subprocess, holds the directory of
// the experiment and makes TestHelperProcess act.
const helperEnv = "AWSOIDC_CACHE_HELPER_DIR"

// helperProcs is the number of processes started at once.
const helperProcs = 8

// helperArrived is the line a helper process prints when it reaches
// Retrieve.
const helperArrived = "ARRIVED"

// TestFileStoreProcesses starts helperProcs copies of the test binary at
// once on one empty FileStore. Each runs a Cache whose provider appends a
// line to a shared file; the provider call is held until every process has
// reached Retrieve, so all of them are inside the store's Load-Lock-Load
// sequence at the same time. Exactly one provider call must happen, and
// every process must end up with the credentials it made.
//
// No process polls: each prints a line when it reaches Retrieve, and the
// provider call reads its standard input to the end, which comes when this
// test, having read that line from every process, closes their inputs.
func TestFileStoreProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts subprocesses")
	}
	dir := t.TempDir()
	cmds := make([]*exec.Cmd, helperProcs)
	outs := make([]*bytes.Buffer, helperProcs)
	stdins := make([]io.WriteCloser, helperProcs)
	stdouts := make([]io.Reader, helperProcs)
	for i := range cmds {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1", "-test.v=false")
		cmd.Env = append(os.Environ(), helperEnv+"="+dir)
		outs[i] = new(bytes.Buffer)
		cmd.Stderr = outs[i]
		var err error
		if stdins[i], err = cmd.StdinPipe(); err != nil {
			t.Fatal(err)
		}
		if stdouts[i], err = cmd.StdoutPipe(); err != nil {
			t.Fatal(err)
		}
		cmds[i] = cmd
	}
	for i, cmd := range cmds {
		if err := cmd.Start(); err != nil {
			t.Fatalf("start process %d: %v", i, err)
		}
	}
	// Each reader reports once: true when its process has reached
	// Retrieve, false when it ended before.
	arrived := make(chan bool, helperProcs)
	stdout := make([]string, helperProcs)
	var readers sync.WaitGroup
	for i := range cmds {
		readers.Go(func() {
			var b strings.Builder
			reported := false
			sc := bufio.NewScanner(stdouts[i])
			for sc.Scan() {
				b.WriteString(sc.Text() + "\n")
				if sc.Text() == helperArrived && !reported {
					arrived <- true
					reported = true
				}
			}
			if !reported {
				arrived <- false
			}
			stdout[i] = b.String()
		})
	}
	limit := time.NewTimer(30 * time.Second) // only a bug gets there
	defer limit.Stop()
	for n := 0; n < helperProcs; n++ {
		select {
		case ok := <-arrived:
			if !ok {
				t.Errorf("a process ended before it reached Retrieve")
			}
		case <-limit.C:
			t.Errorf("%d of %d processes reached Retrieve within 30s", n, helperProcs)
			n = helperProcs
		}
	}
	for _, w := range stdins {
		_ = w.Close() // the provider call may go on
	}
	readers.Wait()
	var keys []string
	for i, cmd := range cmds {
		err := cmd.Wait()
		out := stdout[i] + outs[i].String()
		if err != nil {
			t.Fatalf("process %d: %v\n%s", i, err, out)
		}
		if strings.Contains(out, "SECRET") {
			t.Errorf("process %d printed a secret:\n%s", i, out)
		}
		sc := bufio.NewScanner(strings.NewReader(out))
		for sc.Scan() {
			if k, ok := strings.CutPrefix(sc.Text(), "AKID="); ok {
				keys = append(keys, k)
			}
		}
	}
	calls := countLines(t, filepath.Join(dir, "calls"))
	t.Logf("%d processes started at once on an empty store: %d provider call(s); keys %v", helperProcs, calls, keys)
	if calls != 1 {
		t.Errorf("provider calls = %d; want 1", calls)
	}
	if len(keys) != helperProcs {
		t.Fatalf("got %d keys from %d processes", len(keys), helperProcs)
	}
	for _, k := range keys {
		if k != keys[0] {
			t.Errorf("processes hold different credentials: %v", keys)
			break
		}
	}
	fi, err := os.Stat(filepath.Join(dir, "store"))
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("store directory: %v, %v; want mode 0700", fi, err)
	}
}

// TestHelperProcess is one process of TestFileStoreProcesses; it does
// nothing in a normal test run.
func TestHelperProcess(t *testing.T) {
	dir := os.Getenv(helperEnv)
	if dir == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	calls := filepath.Join(dir, "calls")

	st, err := NewFileStore(filepath.Join(dir, "store"))
	if err != nil {
		t.Fatal(err)
	}
	p := aws.CredentialsProviderFunc(func(ctx context.Context) (aws.Credentials, error) {
		appendLine(t, calls, strconv.Itoa(os.Getpid()))
		// Hold the call until every process has reached Retrieve: the
		// parent then closes our input.
		if _, err := io.Copy(io.Discard, os.Stdin); err != nil {
			return aws.Credentials{}, err
		}
		return aws.Credentials{
			AccessKeyID:     fmt.Sprintf("AKID-%d", os.Getpid()),
			SecretAccessKey: "SECRET-helper",
			SessionToken:    "TOKEN-helper",
			CanExpire:       true,
			Expires:         time.Now().Add(time.Hour),
		}, nil
	})
	c := New(p, func(o *Options) {
		o.Store = st
		o.StoreKey = "role-arn|session|source"
	})
	defer func() { _ = c.Close() }()

	fmt.Println(helperArrived)
	creds, err := c.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("AKID=%s\n", creds.AccessKeyID)
}

// appendLine appends a line with one write on an O_APPEND file, which
// processes may do concurrently.
func appendLine(t *testing.T, path, line string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(line + "\n"); err != nil {
		t.Fatal(err)
	}
}

func countLines(t *testing.T, path string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Count(data, []byte("\n"))
}
