// Package ststest is an in-process AWS STS and OpenID Connect identity
// provider for tests, in the spirit of [net/http/httptest].
//
// A [Server] serves, on one loopback origin, the STS Query protocol
// (AssumeRoleWithWebIdentity with real token validation; AssumeRole,
// signed with credentials the server issued, with the trust rule of
// [Role].TrustedPrincipals, its external ID, session tags, source identity
// and the 1-hour cap of chained sessions; and GetCallerIdentity, which
// verifies the SigV4 signature and reports the last hop of a chain), an
// OIDC issuer whose keys
// [Server.MintToken] signs with, and the OAuth 2.0 device authorization
// grant (RFC 8628) for clients added with [Server.AddClient]. The real
// aws-sdk-go-v2 STS client parses its answers, errors included, into its
// typed errors.
//
// Tests script failures with [Server.Fail], [Server.SetLatency] and
// [Server.Hold], throttle every STS action with a token bucket as STS does
// ([Server.Throttle]), run the real SDK clients inside a testing/synctest
// bubble through [Server.Transport], count requests with [Server.Calls] and [Server.WaitCalls],
// and play the user of a device login with [Server.WaitUserCode] and
// [Server.Approve]. Time comes from [Options.Now], so expiry follows a
// test's fake clock.
//
// ststest differs from AWS where AWS cannot be reproduced locally or would
// make tests flaky: it does not check the SigV4 request time (a test's fake
// clock may be far from the SDK's wall clock), it models the packed policy
// size deterministically (1 KiB of DEFLATE-compressed policy and policy
// ARNs is 100 %), and it fetches an issuer's keys on every call instead of
// caching them.
package ststest
