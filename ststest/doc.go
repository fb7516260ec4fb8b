// Package ststest provides an in-process AWS STS and OpenID Connect identity
// provider for tests, in the spirit of [net/http/httptest].
//
// A [Server] listens on a loopback port and serves, on one origin:
//
//   - the STS Query protocol (Version 2011-06-15) at [Server.URL]:
//     AssumeRoleWithWebIdentity with real token validation (signature against
//     the issuer's JWKS, kid, alg, iss, aud, exp, nbf, role trust, duration,
//     session name and session policy rules) and GetCallerIdentity, which
//     verifies the SigV4 signature made with credentials the server issued.
//     The server stands for every regional STS endpoint: it accepts a
//     signature scoped to service "sts" and to any well-formed region name
//     (us-east-1, eu-west-1, us-gov-west-1, cn-north-1, ...) or to
//     [Options.Region], and verifies it with the scope's region, so a client
//     configured for any region works; a malformed region, another service
//     or a signature made for another region than its scope names is
//     SignatureDoesNotMatch;
//   - an OIDC issuer at [Server.Issuer]: discovery at
//     Issuer()+"/.well-known/openid-configuration" and a JWKS with RSA and
//     EC keys that [Server.MintToken] really signs with;
//   - the OAuth 2.0 device authorization grant (RFC 8628) for clients
//     registered with [Server.AddClient]: a device authorization endpoint,
//     a token endpoint (device_code and refresh_token grants, optional
//     refresh token rotation), a revocation endpoint (RFC 7009) and a
//     verification page. Tests play the user with [Server.WaitUserCode],
//     [Server.Approve], [Server.Deny], [Server.SlowDown] and
//     [Server.Expire]. Issued ID tokens and JWT access tokens are signed
//     with the issuer's keys, so STS accepts them for a role whose Audience
//     is the client ID.
//
// Responses and errors follow the AWS wire format closely enough that the
// real [github.com/aws/aws-sdk-go-v2/service/sts] client parses them into its
// typed errors (types.ExpiredTokenException, types.InvalidIdentityTokenException,
// ...). Tests script failures with [Server.Fail], [Server.SetLatency] and
// [Server.Hold], and count requests with [Server.Calls] and [Server.WaitCalls].
//
// Time comes from [Options.Now], so credentials and token expiry follow a
// test's fake clock. A Server is safe for concurrent use. It never logs
// tokens, secret keys or session tokens.
//
// ststest differs from AWS where AWS's behaviour cannot be reproduced
// locally or would make tests flaky: it does not check the SigV4 request
// time against its clock (a test's fake clock may be far from the SDK's wall
// clock), it computes the packed policy size with its own deterministic
// model (see [Options.PackedPolicyLimit]), and it fetches an issuer's keys on
// every call instead of caching them.
package ststest
