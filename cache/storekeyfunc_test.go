package cache

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/awsoidc/awsoidc/clock"
)

// TestStoreKeyFunc checks that a refresh names its store entry by
// StoreKeyFunc's key, asked once per refresh, and fails when it fails.
func TestStoreKeyFunc(t *testing.T) {
	clk := clock.NewFake(t0)
	st := newMemStore()
	key, keyErr, asked := "identity-a", error(nil), 0
	p := newTestProvider(clk, time.Hour)
	c := New(p, func(o *Options) {
		o.Clock = clk
		o.Store = st
		o.StoreKeyFunc = func(context.Context) (string, error) { asked++; return key, keyErr }
	})
	defer c.Close()
	if _, err := c.Retrieve(t.Context()); err != nil {
		t.Fatal(err)
	}
	st.mu.Lock()
	_, saved := st.m["identity-a"]
	entries := len(st.m)
	st.mu.Unlock()
	if !saved || entries != 1 || asked != 1 {
		t.Fatalf("saved under the key: %t, entries %d, StoreKeyFunc calls %d; want true, 1, 1", saved, entries, asked)
	}

	// Another identity's cache shares the store: it must not load A's entry.
	key = "identity-b"
	c2 := New(newTestProvider(clk, time.Hour), func(o *Options) {
		o.Clock = clk
		o.Store = st
		o.StoreKeyFunc = func(context.Context) (string, error) { return key, nil }
	})
	defer c2.Close()
	creds, err := c2.Retrieve(t.Context())
	if err != nil || creds.AccessKeyID != "AKID1" {
		t.Fatalf("second identity: %q, %v; want its own provider's first credentials", creds.AccessKeyID, err)
	}

	boom := errors.New("token source: no such file")
	keyErr = boom
	c3 := New(newTestProvider(clk, time.Hour), func(o *Options) {
		o.Clock = clk
		o.Store = st
		o.StoreKeyFunc = func(context.Context) (string, error) { return "", keyErr }
	})
	defer c3.Close()
	if _, err := c3.Retrieve(t.Context()); !errors.Is(err, boom) {
		t.Fatalf("Retrieve with a failing StoreKeyFunc = %v, want its error", err)
	}
}
