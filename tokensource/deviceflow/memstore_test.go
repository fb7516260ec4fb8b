package deviceflow

import (
	"context"
	"sync"
)

// memStore is a TokenStore that keeps tokens in memory, for tests. The zero
// value is ready to use.
type memStore struct {
	mu     sync.Mutex // guards tokens and locks
	tokens map[string]*Tokens
	locks  map[string]chan struct{}
}

func newMemStore() *memStore { return &memStore{} }

func (m *memStore) Load(_ context.Context, key string) (*Tokens, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.tokens[key]
	if !ok {
		return nil, false, nil
	}
	c := *t
	return &c, true, nil
}

func (m *memStore) Save(_ context.Context, key string, t *Tokens) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.tokens == nil {
		m.tokens = make(map[string]*Tokens)
	}
	c := *t
	m.tokens[key] = &c
	return nil
}

func (m *memStore) Delete(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.tokens, key)
	return nil
}

func (m *memStore) Lock(ctx context.Context, key string) (func() error, error) {
	m.mu.Lock()
	if m.locks == nil {
		m.locks = make(map[string]chan struct{})
	}
	sem, ok := m.locks[key]
	if !ok {
		sem = make(chan struct{}, 1)
		m.locks[key] = sem
	}
	m.mu.Unlock()
	select {
	case sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	var once sync.Once
	return func() error {
		once.Do(func() { <-sem })
		return nil
	}, nil
}
