package securefile

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// listing returns the entries of dir as ls -la shows them: mode, size and
// name, one a line.
func listing(t *testing.T, dir string) string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, de := range des {
		fi, err := de.Info()
		if err != nil {
			continue
		}
		fmt.Fprintf(&b, "%v %6d %s\n", fi.Mode(), fi.Size(), de.Name())
	}
	return b.String()
}

// temps returns the temporary file names in dir.
func temps(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	for _, name := range entries(t, dir) {
		if _, ok := tempTarget(name); ok {
			out = append(out, name)
		}
	}
	return out
}

// TestWriteFileRemovesTempOfKilledWriter kills a writer between the write
// of its temporary file and the rename, as a crash or SIGKILL would: the
// temporary file, with the secret in it, stays while the writer lives (a
// write and RemoveStaleTemps meanwhile leave it), and the next write
// removes it once the writer is dead.
func TestWriteFileRemovesTempOfKilledWriter(t *testing.T) {
	if !holdTempOpen {
		t.Skip("temporary files are not locked on " + runtime.GOOS + ": they are taken for abandoned after an hour")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "token.json")
	if err := WriteFile(path, []byte(`{"refresh_token":"old"}`)); err != nil {
		t.Fatal(err)
	}
	const secret = `{"refresh_token":"rt-of-the-killed-writer"}`
	cmd := helperCmd(t, "write-hang", path, helperDataEnv+"="+secret)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = stdin.Close()
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	if line, err := bufio.NewReader(stdout).ReadString('\n'); err != nil || line != "written\n" {
		t.Fatalf("helper said %q, %v; stderr: %s", line, err, cmd.Stderr)
	}
	left := temps(t, dir)
	if len(left) != 1 {
		t.Fatalf("temporary files = %q, want the writer's one\n%s", left, listing(t, dir))
	}
	tmp := filepath.Join(dir, left[0])
	t.Logf("the writer is alive:\n%s", listing(t, dir))

	// A live writer's file stays, whoever writes or cleans meanwhile.
	if err := WriteFile(path, []byte("new-1")); err != nil {
		t.Fatal(err)
	}
	if n, err := RemoveStaleTemps(dir); n != 0 || err != nil {
		t.Errorf("RemoveStaleTemps while the writer is alive = %d, %v; want 0, nil", n, err)
	}
	if got, err := os.ReadFile(tmp); err != nil || string(got) != secret {
		t.Fatalf("the live writer's temporary file = %q, %v; want it untouched", got, err)
	}

	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	t.Logf("the writer was killed:\n%s", listing(t, dir))
	if _, err := os.Lstat(tmp); err != nil {
		t.Fatalf("the killed writer's temporary file is gone already: %v", err)
	}

	if err := WriteFile(path, []byte("new-2")); err != nil {
		t.Fatal(err)
	}
	t.Logf("after the next write:\n%s", listing(t, dir))
	if got := entries(t, dir); !slices.Equal(got, []string{"token.json"}) {
		t.Errorf("directory holds %q, want only token.json\n%s", got, listing(t, dir))
	}
	if got, _ := ReadFile(path, 64); string(got) != "new-2" {
		t.Errorf("token.json = %q, want new-2", got)
	}
}

// TestWriteFileSparesLiveWriter has a writer of this process stop between
// its write and its rename: another write of the same file, and
// RemoveStaleTemps, leave its temporary file, the flock alone protects it
// too, and the stopped writer's rename then succeeds.
func TestWriteFileSparesLiveWriter(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "creds.json")
	written, resume := make(chan string), make(chan struct{})
	res := make(chan error, 1)
	go func() {
		res <- WriteFile(path, []byte("slow"), func(o *WriteOptions) {
			o.WrapWriter = func(w io.Writer) io.Writer {
				return writerFunc(func(p []byte) (int, error) {
					n, err := w.Write(p)
					written <- w.(*os.File).Name()
					<-resume
					return n, err
				})
			}
		})
	}()
	tmp := <-written
	if err := WriteFile(path, []byte("fast")); err != nil {
		t.Fatal(err)
	}
	if n, err := RemoveStaleTemps(dir); n != 0 || err != nil {
		t.Errorf("RemoveStaleTemps = %d, %v; want 0, nil", n, err)
	}
	if holdTempOpen {
		// Without the in-process registry: the flock still says "live".
		if removed, err := removeAbandoned(tmp); removed || err != nil {
			t.Errorf("removeAbandoned(live temporary file) = %t, %v", removed, err)
		}
	}
	if _, err := os.Lstat(tmp); err != nil {
		t.Fatalf("the live writer's temporary file was removed: %v", err)
	}
	close(resume)
	if err := <-res; err != nil {
		t.Fatalf("the stopped writer failed: %v", err)
	}
	if got, _ := ReadFile(path, 64); string(got) != "slow" {
		t.Errorf("creds.json = %q, want the last rename's", got)
	}
	if got := entries(t, dir); !slices.Equal(got, []string{"creds.json"}) {
		t.Errorf("directory holds %q", got)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// TestRemoveStaleTemps creates what killed writers leave, under their exact
// names, among files that only look like them: RemoveStaleTemps removes the
// temporary files of every target, WriteFile only those of its own.
func TestRemoveStaleTemps(t *testing.T) {
	dir := t.TempDir()
	secret := []byte(`{"secret_access_key":"leftover"}`)
	leftovers := []string{".creds.json.2934871.tmp", ".creds.json.17.tmp", ".other.json.4242.tmp"}
	keep := []string{"creds.json", ".creds.json.lock", ".creds.json.x1.tmp", ".creds.json..tmp", "creds.json.12.tmp", ".creds.json.12.tmp~"}
	for _, name := range append(slices.Clone(leftovers), keep...) {
		if err := os.WriteFile(filepath.Join(dir, name), secret, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// Not regular files: left alone whatever their names.
	if err := os.Mkdir(filepath.Join(dir, ".dir.json.1.tmp"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("creds.json", filepath.Join(dir, ".link.json.1.tmp")); err != nil && runtime.GOOS != "windows" {
		t.Fatal(err)
	}
	keep = append(keep, ".dir.json.1.tmp", ".link.json.1.tmp")
	t.Logf("before:\n%s", listing(t, dir))

	// WriteFile removes the two of creds.json, not other.json's.
	if err := WriteFile(filepath.Join(dir, "creds.json"), []byte("new")); err != nil {
		t.Fatal(err)
	}
	if got := temps(t, dir); slices.Contains(got, leftovers[0]) || slices.Contains(got, leftovers[1]) || !slices.Contains(got, leftovers[2]) {
		t.Errorf("after WriteFile(creds.json), temporary files = %q; want only other.json's left", got)
	}

	n, err := RemoveStaleTemps(dir)
	if n != 1 || err != nil {
		t.Errorf("RemoveStaleTemps = %d, %v; want 1 (other.json's), nil", n, err)
	}
	t.Logf("after:\n%s", listing(t, dir))
	got := entries(t, dir)
	for _, name := range leftovers {
		if slices.Contains(got, name) {
			t.Errorf("%s is left", name)
		}
	}
	for _, name := range keep {
		if runtime.GOOS == "windows" && name == ".link.json.1.tmp" {
			continue
		}
		if !slices.Contains(got, name) {
			t.Errorf("%s was removed", name)
		}
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "creds.json")); !bytes.Equal(data, []byte("new")) {
		t.Errorf("creds.json = %q", data)
	}
}

func TestTempTarget(t *testing.T) {
	for name, want := range map[string]string{
		".creds.json.123.tmp": "creds.json", ".a.1.tmp": "a", "..x.json.9.tmp": ".x.json",
		"creds.json.1.tmp": "", ".creds.json.tmp": "", ".creds.json.1a.tmp": "", ".creds.json..tmp": "", "..1.tmp": "",
	} {
		got, ok := tempTarget(name)
		if got != want || ok != (want != "") {
			t.Errorf("tempTarget(%q) = %q, %t; want %q", name, got, ok, want)
		}
	}
}
