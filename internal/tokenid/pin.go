package tokenid

import (
	"context"
	"fmt"
	"sync"

	"github.com/awsoidc/awsoidc/tokensource"
)

// Pinned is a [tokensource.Source] that supplies tokens of one identity
// only: the identity of the first token it reads, or of the token it was
// pinned to. A later token of another identity (the next CI job's token in
// the same file, another person's login) is refused with a
// [*MismatchError], so that credentials kept under the pinned identity are
// only ever obtained with its tokens.
//
// A Pinned is safe for concurrent use.
type Pinned struct {
	src tokensource.Source

	mu    sync.Mutex         // guards id and first
	id    string             // the pinned identity; "" until the first token
	first *tokensource.Token // a token already read, served by the next Token call
}

// Pin returns a source that pins src to the identity of the first token
// it supplies.
func Pin(src tokensource.Source) *Pinned { return &Pinned{src: src} }

// PinTo returns a source that pins src to the identity of tok, a token
// just read from src, and serves tok itself on its first call: the
// credentials are then obtained with the very token whose identity keys
// them, even if src changes in between.
func PinTo(src tokensource.Source, tok tokensource.Token) *Pinned {
	return &Pinned{src: src, id: Of(tok.Value), first: &tok}
}

// Identity returns the pinned identity, reading a token to pin it when
// none was read yet (that token is served by the next Token call).
func (p *Pinned) Identity(ctx context.Context) (string, error) {
	p.mu.Lock()
	id := p.id
	p.mu.Unlock()
	if id != "" {
		return id, nil
	}
	tok, err := p.read(ctx)
	if err != nil {
		return "", err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.first == nil {
		p.first = &tok
	}
	return p.id, nil
}

// Token implements [tokensource.Source].
func (p *Pinned) Token(ctx context.Context) (tokensource.Token, error) {
	p.mu.Lock()
	if t := p.first; t != nil {
		p.first = nil
		p.mu.Unlock()
		return *t, nil
	}
	p.mu.Unlock()
	return p.read(ctx)
}

// read reads a token from the source, pins its identity when none is
// pinned, and refuses it when it has another one.
func (p *Pinned) read(ctx context.Context) (tokensource.Token, error) {
	tok, err := p.src.Token(ctx)
	if err != nil {
		return tokensource.Token{}, err
	}
	id := Of(tok.Value)
	p.mu.Lock()
	defer p.mu.Unlock()
	switch p.id {
	case "":
		p.id = id
	case id:
	default:
		return tokensource.Token{}, &MismatchError{Source: fmt.Sprint(p.src)}
	}
	return tok, nil
}

// String describes the source without any token.
func (p *Pinned) String() string { return fmt.Sprintf("tokenid.Pin(%v)", p.src) }

// Format prints String in every verb, %#v included, so that no verb
// reaches the token a Pinned may hold.
func (p *Pinned) Format(f fmt.State, _ rune) { _, _ = fmt.Fprint(f, p.String()) }

// MismatchError is a token of another identity than the one its source
// was pinned to. It names the source, never a token or a claim.
type MismatchError struct {
	// Source is the source's description, such as tokensource.File("/path").
	Source string
}

// Error says that the identity changed and that a restart picks up the new
// one.
func (e *MismatchError) Error() string {
	return "the token from " + e.Source + " now belongs to another identity (its iss, sub, aud or amr claim changed) " +
		"than the one this process started with; credentials are kept apart per identity: restart to use the new one"
}
