package cache

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/smithy-go"

	"github.com/awsoidc/awsoidc/clock"
)

// TestFormatHasNoSecrets prints every exported type of the package, and a
// Cache holding static keys, through %v, %+v, %#v and %s, and the logs of
// a run with failures: no secret access key or session token may appear.
func TestFormatHasNoSecrets(t *testing.T) {
	clk := clock.NewFake(t0)
	static := credentials.NewStaticCredentialsProvider("AKIDSTATIC", "SECRET-static", "TOKEN-static")
	st := newTestStore(t)
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	opts := func(o *Options) {
		o.Clock = clk
		o.Store, o.StoreKey = st, testKey
		o.Logger = logger
	}
	c := New(static, opts)
	defer c.Close()
	mustRetrieve(t, c)

	p := newTestProvider(clk, time.Hour)
	evs := newEvents()
	c2 := New(p, opts, func(o *Options) { o.OnRefresh = evs.hook; o.Store = nil })
	defer c2.Close()
	mustRetrieve(t, c2)
	p.setFail(errSTSDown)
	clk.Set(t0.Add(2 * time.Hour))
	_, err := c2.Retrieve(context.Background())
	if err == nil {
		t.Fatal("no error")
	}

	// Printing a Cache value reads its fields by reflection, which races
	// with the goroutines of a refresh: print the value of a cache that
	// never started one, holding credentials.
	cv := New(static, opts)
	staticCreds, _ := static.Retrieve(context.Background())
	cv.cur.Store(defaultPolicy.plan(staticCreds, t0, 0, 0, 0, false))
	_ = c.Close()
	_ = c2.Close()
	var o Options
	opts(&o)
	values := []any{
		c, c2, reflect.ValueOf(cv).Elem(), struct{ C *Cache }{c},
		o, &o, st, *st, err, evs.all(), OutcomeFailed, Outcome(42),
	}
	for _, v := range values {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
			out := fmt.Sprintf(verb, v)
			if strings.Contains(out, "SECRET") || strings.Contains(out, "TOKEN-") {
				t.Errorf("%s of %T leaks a secret: %s", verb, v, out)
			}
		}
	}
	if out := logs.String(); strings.Contains(out, "SECRET") || strings.Contains(out, "TOKEN-") {
		t.Errorf("logs leak a secret:\n%s", out)
	}
	if got := c.String(); !strings.Contains(got, "fresh") || !strings.Contains(got, "StaticCredentialsProvider") {
		t.Errorf("String = %q", got)
	}
	if got := fmt.Sprint((*Cache)(nil)); got != "cache.Cache(nil)" {
		t.Errorf("nil Cache prints %q", got)
	}
}

func TestOutcomeString(t *testing.T) {
	for o, want := range map[Outcome]string{OutcomeFetched: "fetched", OutcomeLoaded: "loaded", OutcomeFailed: "failed", 0: "Outcome(0)"} {
		if got := o.String(); got != want {
			t.Errorf("%d: %q; want %q", int(o), got, want)
		}
	}
}

func TestErrorClass(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{nil, ""},
		{context.DeadlineExceeded, "timeout"},
		{fmt.Errorf("x: %w", context.Canceled), "canceled"},
		{fmt.Errorf("%w: no keys", errInvalidCredentials), "invalid_credentials"},
		{errSTSDown, "other"},
		{&aws.RequestCanceledError{Err: context.Canceled}, "canceled"},
		{&net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "sts.example"}}, "transport"},
		{fmt.Errorf("sts: %w", &net.DNSError{Err: "i/o timeout", Name: "sts.example", IsTimeout: true}), "timeout"},
		{fmt.Errorf("sts: %w", &smithy.GenericAPIError{Code: "IDPCommunicationError", Message: "try again"}), "IDPCommunicationError"},
	}
	for _, tt := range tests {
		if got := errorClass(tt.err); got != tt.want {
			t.Errorf("errorClass(%v) = %q; want %q", tt.err, got, tt.want)
		}
	}
}
