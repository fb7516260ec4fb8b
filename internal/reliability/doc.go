// Package reliability holds awsoidc's cross-package reliability tests, and
// nothing else: it has no non-test code and is never imported.
//
// The tests drive the real parts together (tokensource, provider with the
// real sts client, cache with a FileStore on disk, deviceflow) against
// ststest over HTTP, on a fake clock, and check what a caller sees under
// every fault:
//
//   - TestFaultMatrix: every stage (token source, STS, identity provider,
//     cache, store, device flow) times every fault ststest and the file
//     system can inject, cold and with valid credentials cached; it prints
//     the matrix as a table (go test -v -run TestFaultMatrix
//     ./internal/reliability/).
//   - TestNoSecretsAnywhere: every fault path again, with a capturing slog
//     handler, plus the fmt output of every exported type, searched for
//     every token, secret key, session token and refresh token.
//   - TestStoreFileModes, TestStoreRefuses*, TestDeviceFlow*: file modes,
//     planted symlinks, insecure directories, plain-http and oversized
//     responses, through the packages' public APIs.
//   - TestClockSkew*: a local clock ±10 minutes off STS's, end to end
//     through the cache.
//   - TestSoak*: 30 simulated days of a daemon with random outages,
//     throttling and daily token rotation, on a virtual clock.
package reliability
