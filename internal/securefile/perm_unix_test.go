//go:build unix

package securefile

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// mode returns the permission bits of path, without following a link.
func mode(t *testing.T, path string) fs.FileMode {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

func TestPermissions(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "a", "b")
	if err := EnsureDir(dir); err != nil {
		t.Fatalf("EnsureDir: %v", err)
	}
	for _, d := range []string{filepath.Join(root, "a"), dir} {
		if got := mode(t, d); got != 0o700 {
			t.Errorf("%s: mode %v, want 0700", d, got)
		}
	}
	if err := EnsureDir(dir); err != nil { // existing and fine
		t.Fatalf("EnsureDir again: %v", err)
	}

	path := filepath.Join(dir, "creds.json")
	if err := WriteFile(path, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if got := mode(t, path); got != 0o600 {
		t.Errorf("written file: mode %v, want 0600", got)
	}
	unlock, err := Lock(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	if got := mode(t, path+".lock"); got != 0o600 {
		t.Errorf("lock file: mode %v, want 0600", got)
	}

	// A loose file replaced by WriteFile comes back 0600: the rename puts a
	// new file in its place.
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(path, []byte("y")); err != nil {
		t.Fatal(err)
	}
	if got := mode(t, path); got != 0o600 {
		t.Errorf("rewritten file: mode %v, want 0600", got)
	}
}

func TestInsecureDirectoryRefused(t *testing.T) {
	for _, tc := range []struct {
		perm fs.FileMode
		ok   bool
	}{
		{0o700, true},
		{0o750, true}, // readable, not writable, by the group: allowed
		{0o755, true},
		{0o770, false},
		{0o720, false},
		{0o702, false},
		{0o777, false},
		{0o777 | fs.ModeSticky, false}, // sticky does not make a shared directory private
	} {
		t.Run(tc.perm.String(), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "store")
			if err := EnsureDir(dir); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, "creds.json")
			if err := WriteFile(path, []byte("x")); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(dir, tc.perm); err != nil {
				t.Fatal(err)
			}
			_, rerr := ReadFile(path, 10)
			unlock, lerr := Lock(context.Background(), path)
			if lerr == nil {
				defer func() { _ = unlock() }()
			}
			for name, err := range map[string]error{
				"EnsureDir": EnsureDir(dir),
				"WriteFile": WriteFile(path, []byte("y")),
				"ReadFile":  rerr,
				"Lock":      lerr,
			} {
				if tc.ok {
					if err != nil {
						t.Errorf("%s: %v", name, err)
					}
					continue
				}
				if !errors.Is(err, ErrInsecureMode) {
					t.Errorf("%s = %v, want ErrInsecureMode", name, err)
					continue
				}
				if e := asError(t, err); e.Path != dir || !strings.Contains(e.Error(), "chmod 700 "+dir) {
					t.Errorf("%s: message %q should name %s and the fix", name, e.Error(), dir)
				}
			}
			if tc.ok {
				return
			}
			if got, _ := os.ReadFile(path); string(got) != "x" {
				t.Errorf("file changed to %q in a refused directory", got)
			}
		})
	}
}

func TestEnsureDirRefusesNonDirectory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	err := EnsureDir(path)
	if !errors.Is(err, ErrNotDir) {
		t.Fatalf("EnsureDir(file) = %v, want ErrNotDir", err)
	}
	asError(t, err)
	if err := EnsureDir(filepath.Join(path, "sub")); err == nil {
		t.Fatal("EnsureDir under a file = nil")
	}
}

func TestEnsureDirFollowsLinkToGoodDirectory(t *testing.T) {
	root := t.TempDir()
	real := filepath.Join(root, "real")
	if err := EnsureDir(real); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(root, "link")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	if err := EnsureDir(link); err != nil {
		t.Fatalf("EnsureDir(link to a 0700 directory) = %v", err)
	}
	if err := os.Chmod(real, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := EnsureDir(link); !errors.Is(err, ErrInsecureMode) {
		t.Fatalf("EnsureDir(link to a 0777 directory) = %v, want ErrInsecureMode", err)
	}
}

func TestNotOwnerRefused(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("changing a file's owner needs root")
	}
	const nobody = 65534
	dir := filepath.Join(t.TempDir(), "store")
	if err := EnsureDir(dir); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "creds.json")
	if err := WriteFile(path, []byte("x")); err != nil {
		t.Fatal(err)
	}

	if err := os.Lchown(path, nobody, nobody); err != nil {
		t.Fatal(err)
	}
	_, err := ReadFile(path, 10)
	if !errors.Is(err, ErrNotOwner) {
		t.Fatalf("ReadFile(foreign file) = %v, want ErrNotOwner", err)
	}
	if e := asError(t, err); !strings.Contains(e.Error(), "uid 65534") {
		t.Errorf("message %q should name the owner", e.Error())
	}

	if err := os.Chown(dir, nobody, nobody); err != nil {
		t.Fatal(err)
	}
	if err := EnsureDir(dir); !errors.Is(err, ErrNotOwner) {
		t.Fatalf("EnsureDir(foreign directory) = %v, want ErrNotOwner", err)
	}
	if err := WriteFile(path, []byte("y")); !errors.Is(err, ErrNotOwner) {
		t.Fatalf("WriteFile into a foreign directory = %v, want ErrNotOwner", err)
	}
}

func TestLooseFileRefused(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "token.json")
	for _, tc := range []struct {
		perm fs.FileMode
		ok   bool
	}{
		{0o600, true},
		{0o400, true},
		{0o700, true},
		{0o640, false},
		{0o604, false},
		{0o644, false},
		{0o660, false},
		{0o666, false},
	} {
		if err := WriteFile(path, []byte("secret")); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, tc.perm); err != nil {
			t.Fatal(err)
		}
		got, err := ReadFile(path, 10)
		switch {
		case tc.ok && (err != nil || string(got) != "secret"):
			t.Errorf("%v: ReadFile = %q, %v", tc.perm, got, err)
		case !tc.ok && !errors.Is(err, ErrInsecureMode):
			t.Errorf("%v: ReadFile = %q, %v; want ErrInsecureMode", tc.perm, got, err)
		case !tc.ok:
			if e := asError(t, err); strings.Contains(e.Error(), "secret") {
				t.Errorf("message %q contains the file content", e.Error())
			}
		}
	}
}

func TestPlantedSymlinkRefused(t *testing.T) {
	for _, target := range []string{"file", "dir", "dangling"} {
		t.Run(target, func(t *testing.T) {
			root := t.TempDir()
			dir := filepath.Join(root, "store")
			if err := EnsureDir(dir); err != nil {
				t.Fatal(err)
			}
			victim := filepath.Join(root, "victim")
			switch target {
			case "file":
				if err := os.WriteFile(victim, []byte("victim"), 0o600); err != nil {
					t.Fatal(err)
				}
			case "dir":
				if err := os.Mkdir(victim, 0o700); err != nil {
					t.Fatal(err)
				}
			}
			path := filepath.Join(dir, "creds.json")
			if err := os.Symlink(victim, path); err != nil {
				t.Fatal(err)
			}

			_, rerr := ReadFile(path, 100)
			if !errors.Is(rerr, ErrSymlink) {
				t.Errorf("ReadFile(symlink) = %v, want ErrSymlink", rerr)
			} else if e := asError(t, rerr); e.Path != path || e.Rule == "" {
				t.Errorf("error = %#v", e)
			}
			if err := WriteFile(path, []byte("attacker wants this")); !errors.Is(err, ErrSymlink) {
				t.Errorf("WriteFile(symlink) = %v, want ErrSymlink", err)
			}
			if fi, err := os.Lstat(path); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
				t.Errorf("the link was replaced or removed: %v, %v", fi, err)
			}
			if target == "file" {
				if got, _ := os.ReadFile(victim); string(got) != "victim" {
					t.Errorf("victim changed to %q", got)
				}
			}
			if target != "dir" {
				if _, err := os.Stat(filepath.Join(root, "victim.lock")); err == nil {
					t.Error("a lock file appeared beside the victim")
				}
			}
		})
	}
}

func TestPlantedLockSymlinkRefused(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "store")
	if err := EnsureDir(dir); err != nil {
		t.Fatal(err)
	}
	victim := filepath.Join(root, "victim")
	if err := os.WriteFile(victim, []byte("victim"), 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "creds.json")
	if err := os.Symlink(victim, path+".lock"); err != nil {
		t.Fatal(err)
	}
	_, err := Lock(context.Background(), path)
	if !errors.Is(err, ErrSymlink) {
		t.Fatalf("Lock(symlinked lock file) = %v, want ErrSymlink", err)
	}
	if e := asError(t, err); e.Path != path+".lock" {
		t.Errorf("error names %q", e.Path)
	}
	if n := lockTableSize(); n != 0 {
		t.Errorf("%d in-process lock entries left", n)
	}
}

// TestSymlinkSwappedAfterCheck closes the race the Lstat check leaves open:
// with the link created between the check and the open, O_NOFOLLOW still
// refuses it, and the error still says it is a link.
func TestSymlinkSwappedAfterCheck(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	if err := os.WriteFile(victim, []byte("victim"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(victim, link); err != nil {
		t.Fatal(err)
	}
	_, err := os.OpenFile(link, os.O_RDONLY|readFlags, 0)
	if !isSymlinkErr(err) {
		t.Fatalf("open with readFlags of a link = %v, want the O_NOFOLLOW error", err)
	}
}

func TestPlantedFIFORefusedWithoutBlocking(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "creds.json")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	got := make(chan error, 1)
	go func() {
		_, err := ReadFile(path, 10)
		got <- err
	}()
	select {
	case err := <-got:
		if !errors.Is(err, ErrNotRegular) {
			t.Fatalf("ReadFile(FIFO) = %v, want ErrNotRegular", err)
		}
	case <-testCtx(t).Done(): // a safety net, not a timing assertion
		t.Fatal("ReadFile blocked on a FIFO")
	}
	if err := WriteFile(path, []byte("x")); !errors.Is(err, ErrNotRegular) {
		t.Fatalf("WriteFile(FIFO) = %v, want ErrNotRegular", err)
	}
}
