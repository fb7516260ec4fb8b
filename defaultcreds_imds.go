package awsoidc

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/awsoidc/awsoidc/cache"
	"github.com/awsoidc/awsoidc/clock"
	"github.com/awsoidc/awsoidc/internal/clockutil"
)

// How the instance metadata leg extends credentials through an outage of
// the metadata service, as the SDK's ec2rolecreds.Provider.HandleFailToRefresh
// does: credentials that expire within imdsMinValidity are handed out again
// to expire imdsMinValidity plus up to imdsExtensionSpread from now.
const (
	imdsMinValidity     = 5 * time.Minute
	imdsExtensionSpread = 10 * time.Minute
)

// imdsStable is the instance metadata leg under the cache. EC2 keeps
// accepting an instance's role credentials for a while after their expiry
// when the metadata service cannot hand out new ones (static stability),
// so the SDK extends them; the cache alone would serve them only until
// they expire. On a failure, when the last credentials expire within
// imdsMinValidity, they are returned with an expiry 5 to 15 minutes away,
// and the cache tries again before then; otherwise the failure is
// returned, and the cache serves the still-valid credentials itself.
type imdsStable struct {
	p    aws.CredentialsProvider
	clk  clock.Clock
	log  *slog.Logger
	last atomic.Pointer[aws.Credentials] // the last credentials the service gave
}

// newIMDSStable wraps p, on the clock and logger the caches of o use.
func newIMDSStable(p aws.CredentialsProvider, o Options) *imdsStable {
	var co cache.Options
	for _, fn := range o.Cache {
		fn(&co)
	}
	log := co.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &imdsStable{p: p, clk: clockutil.OrReal(co.Clock), log: log}
}

// Retrieve calls the metadata service, and extends the last credentials
// when it fails and they are about to expire. Credentials the service
// serves already expired (it keeps serving the last ones through an outage
// of its credential backend, and EC2 keeps accepting them) are extended
// too, where the SDK hands them out as they are and the cache would refuse
// them.
func (s *imdsStable) Retrieve(ctx context.Context) (aws.Credentials, error) {
	creds, err := s.p.Retrieve(ctx)
	now := s.clk.Now()
	if err == nil {
		s.last.Store(&creds)
		if creds.CanExpire && !creds.Expires.After(now) {
			return s.extend(creds, now, "the instance metadata service served expired credentials"), nil
		}
		return creds, nil
	}
	last := s.last.Load()
	if last == nil || !last.CanExpire || last.Expires.After(now.Add(imdsMinValidity)) {
		return aws.Credentials{}, err
	}
	return s.extend(*last, now, "the instance metadata service failed", slog.Any("error", err)), nil
}

// extend returns creds expiring imdsMinValidity plus up to
// imdsExtensionSpread from now, and logs why.
func (s *imdsStable) extend(creds aws.Credentials, now time.Time, why string, attrs ...any) aws.Credentials {
	creds.Expires = now.Add(imdsMinValidity + time.Duration(rand.Float64()*float64(imdsExtensionSpread))) //nolint:gosec // G404: spreads retries in time, no secret
	s.log.Warn("awsoidc: "+why+"; extending the instance's credentials, as EC2 still accepts them",
		append([]any{slog.Time("expires", creds.Expires)}, attrs...)...)
	return creds
}

// ProviderSources reports the metadata service's sources.
func (s *imdsStable) ProviderSources() []aws.CredentialSource {
	if ps, ok := s.p.(aws.CredentialProviderSource); ok {
		return ps.ProviderSources()
	}
	return []aws.CredentialSource{aws.CredentialSourceIMDS}
}
