package ststest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"fmt"
	"sync"

	"github.com/go-jose/go-jose/v4"
)

// keySet holds one issuer's signing keys: an RSA key for RS*/PS* and one EC
// key per curve for ES256/384/512. The published keys never change after
// construction; the unpublished ones (for [Claims.UnknownKey]) are made on
// first use.
type keySet struct {
	rsa *signingKey
	ec  map[string]*signingKey // by alg: ES256, ES384, ES512

	once        sync.Once // makes unpublished
	unpubErr    error
	unpublished *keySet // same shape, not in the JWKS
}

// signingKey is a private key with its kid.
type signingKey struct {
	kid  string
	priv crypto.Signer
}

var ecCurves = map[string]elliptic.Curve{
	"ES256": elliptic.P256(),
	"ES384": elliptic.P384(),
	"ES512": elliptic.P521(),
}

func newKeySet() (*keySet, error) {
	ks := &keySet{ec: make(map[string]*signingKey)}
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	if ks.rsa, err = newSigningKey(rk); err != nil {
		return nil, err
	}
	for alg, curve := range ecCurves {
		ek, err := ecdsa.GenerateKey(curve, rand.Reader)
		if err != nil {
			return nil, err
		}
		if ks.ec[alg], err = newSigningKey(ek); err != nil {
			return nil, err
		}
	}
	return ks, nil
}

// newSigningKey names priv by its RFC 7638 thumbprint, as many IdPs do.
func newSigningKey(priv crypto.Signer) (*signingKey, error) {
	jwk := jose.JSONWebKey{Key: priv.Public()}
	tp, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, err
	}
	return &signingKey{kid: base64.RawURLEncoding.EncodeToString(tp)[:16], priv: priv}, nil
}

// forAlg returns the key that signs alg (HS* and none borrow the RSA key's
// kid and public key).
func (ks *keySet) forAlg(alg string) (*signingKey, error) {
	switch alg {
	case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "HS256", "HS384", "HS512", "none":
		return ks.rsa, nil
	case "ES256", "ES384", "ES512":
		return ks.ec[alg], nil
	}
	return nil, fmt.Errorf("ststest: unsupported Claims.Alg %q (want RS256/384/512, ES256/384/512, PS256/384/512, HS256/384/512 or none)", alg)
}

// unknown returns a key set that is not published anywhere.
func (ks *keySet) unknown() (*keySet, error) {
	ks.once.Do(func() { ks.unpublished, ks.unpubErr = newKeySet() })
	return ks.unpublished, ks.unpubErr
}

// jwks returns the public JWKS: the RSA key without "alg" (it signs RS256,
// RS384 and RS512) and each EC key with its alg.
func (ks *keySet) jwks() jose.JSONWebKeySet {
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: ks.rsa.priv.Public(), KeyID: ks.rsa.kid, Use: "sig"},
	}}
	for _, alg := range []string{"ES256", "ES384", "ES512"} {
		k := ks.ec[alg]
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: k.priv.Public(), KeyID: k.kid, Use: "sig", Algorithm: alg})
	}
	return set
}
