package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/awsoidc/awsoidc/cache"
	"github.com/awsoidc/awsoidc/internal/securefile"
)

// checkStore reports the credentials store: its directory and mode, its
// entries and their expiry, the entry of these flags and any failure
// recorded for it. It only reads.
func (d *doctor) checkStore(ctx context.Context) checkResult {
	if d.cfg.noCache {
		return checkOK("not used (--no-cache)")
	}
	dir := credentialsDir(d.cfg.cacheDir)
	fi, err := os.Lstat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return checkOK("%s does not exist yet: the first credential command creates it (mode 0700)", dir)
	case err != nil:
		return checkFail(dir+": "+err.Error(), "make --cache-dir readable by this user, or choose another --cache-dir")
	case !fi.IsDir():
		return checkFail(dir+" is not a directory (mode "+fi.Mode().String()+")", "remove it, or choose another --cache-dir")
	case fi.Mode().Perm()&0o077 != 0:
		return checkFail(fmt.Sprintf("%s has mode %04o: others may read the credentials", dir, fi.Mode().Perm()),
			"run: chmod 700 "+dir+" (awsoidc refuses the store until then and asks STS every time)")
	}
	st, err := cache.NewFileStore(dir)
	if err != nil {
		return checkFail(err.Error(), "fix the directory, choose another --cache-dir, or use --no-cache")
	}
	now := d.a.now()
	var (
		valid, expired, outages int
		loose                   []string
	)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return checkFail(dir+": "+err.Error(), "make --cache-dir readable by this user")
	}
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".json") {
			continue
		}
		if info, err := e.Info(); err == nil && info.Mode().Perm()&0o077 != 0 {
			loose = append(loose, name)
		}
		if strings.HasSuffix(name, ".identity.json") {
			continue // a fetched source's last identity (lastidentity.go), not credentials
		}
		if strings.HasSuffix(name, ".outage.json") {
			if loadOutage(filepath.Join(dir, name), now).Failures > 0 {
				outages++
			}
			continue
		}
		if exp, ok := storedExpiry(filepath.Join(dir, name)); ok && exp.After(now) {
			valid++
		} else {
			expired++
		}
	}
	detail := fmt.Sprintf("%s (mode %04o): %d entries valid, %d expired or unreadable, %d recent failures recorded", dir, fi.Mode().Perm(), valid, expired, outages)
	path := st.Path(d.sess.key)
	creds, found, err := st.Load(ctx, d.sess.key)
	switch {
	case err != nil:
		return checkWarn(detail+"; this role's entry: "+err.Error(), "remove "+path+": the next credential command writes it anew")
	case found:
		d.a.secrets.add(creds.SecretAccessKey, creds.SessionToken)
		detail += "; this role's entry " + filepath.Base(path) + " expires " + doctorWhen(creds.Expires, now)
	default:
		detail += "; no entry yet for this role and token"
	}
	if len(loose) > 0 {
		return checkWarn(detail+"; readable by others: "+strings.Join(loose, ", "), "run: chmod 600 "+filepath.Join(dir, "*.json"))
	}
	if rec := loadOutage(outagePath(path), now); rec.Failures > 0 {
		return checkWarn(fmt.Sprintf("%s; %d failure(s) recorded for this role, the last %s: %s", detail, rec.Failures, doctorWhen(rec.FailedAt, now), rec.Error),
			"awsoidc processes sharing this store wait until "+rec.NextAttempt.Local().Format(time.TimeOnly)+" before asking STS again; the record clears itself on the next success")
	}
	return checkOK("%s", detail)
}

// storedExpiry reads the expiry of a stored credentials file (the
// "expires" field of cache.FileStore's format), never its secrets.
func storedExpiry(path string) (time.Time, bool) {
	data, err := securefile.ReadFile(path, 64<<10)
	if err != nil {
		return time.Time{}, false
	}
	var e struct {
		Expires *time.Time `json:"expires"`
	}
	if json.Unmarshal(data, &e) != nil || e.Expires == nil {
		return time.Time{}, false
	}
	return *e.Expires, true
}
