package ststest

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"
)

// Action names the requests that [Server.Calls] counts and that
// [Server.Fail], [Server.SetLatency] and [Server.Hold] script: an STS action
// (any other STS action name counts under its own name) or an endpoint of
// the identity provider. Faults on STS actions are written as AWS XML
// errors, on the identity provider's endpoints as OAuth JSON errors (RFC
// 6749 §5.2).
type Action string

const (
	// ActionAssumeRoleWithWebIdentity is an STS AssumeRoleWithWebIdentity
	// request.
	ActionAssumeRoleWithWebIdentity Action = "AssumeRoleWithWebIdentity"
	// ActionGetCallerIdentity is an STS GetCallerIdentity request.
	ActionGetCallerIdentity Action = "GetCallerIdentity"
	// ActionDiscovery is a GET of the OIDC discovery document.
	ActionDiscovery Action = "Discovery"
	// ActionJWKS is a GET of the issuer's key set. STS fetches discovery and
	// JWKS on every AssumeRoleWithWebIdentity, so faults on these two make
	// AssumeRoleWithWebIdentity fail with IDPCommunicationError.
	ActionJWKS Action = "JWKS"
	// ActionDeviceAuthorization is a POST to the device authorization
	// endpoint (RFC 8628 §3.1).
	ActionDeviceAuthorization Action = "DeviceAuthorization"
	// ActionToken is a POST to the token endpoint, any grant type.
	ActionToken Action = "Token"
	// ActionRevoke is a POST to the revocation endpoint (RFC 7009).
	ActionRevoke Action = "Revoke"

	// actionUnknown counts STS requests whose Action could not be read
	// (body too large, unreadable, or no Action parameter).
	actionUnknown Action = ""
	// actionVerification is a request for the verification page.
	actionVerification Action = "Verification"
)

// Fault is a scripted failure for [Server.Fail]. With only Code set, the
// action answers that error code with AWS's HTTP status and message.
type Fault struct {
	// Code is the error code. For STS actions it goes into the XML
	// ErrorResponse (e.g. "IDPCommunicationError", "Throttling",
	// "InternalFailure", "IDPRejectedClaim", "RegionDisabledException",
	// "ExpiredTokenException"); for OIDC endpoints it is the JSON "error"
	// (e.g. "server_error"). Default "InternalFailure" for STS actions,
	// "server_error" for OIDC endpoints.
	Code string
	// Message overrides the code's default message.
	Message string
	// Status overrides the HTTP status. Default: AWS's status for Code
	// (400 for codes ststest does not know); for OIDC endpoints 500 for
	// server_error, 503 for temporarily_unavailable and 400 otherwise.
	Status int
	// Times is how many requests fail: 0 means once, a negative value means
	// every request until [Server.ClearFaults].
	Times int
	// Malformed sends a truncated, unparseable body instead of an error
	// (status 200 unless Status is set).
	Malformed bool
	// Reset closes the connection with a TCP reset instead of answering.
	Reset bool
}

// faultState is a queued Fault and how many requests it still fails
// (negative: forever).
type faultState struct {
	f    Fault
	left int
}

// gate blocks the requests that arrive while it is open (see Hold).
type gate struct {
	ch   chan struct{}
	once sync.Once
}

// endpointKind selects how a fault is written.
type endpointKind int

const (
	kindSTS   endpointKind = iota // XML ErrorResponse
	kindOAuth                     // JSON {"error", "error_description"}
)

// Fail queues f for action: the next f.Times requests
// of that action fail as f describes, after any faults queued before it.
// Failed requests count in [Server.Calls].
func (s *Server) Fail(action Action, f Fault) {
	left := f.Times
	if left == 0 {
		left = 1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[action] = append(s.faults[action], &faultState{f: f, left: left})
}

// ClearFaults removes every fault queued for action.
func (s *Server) ClearFaults(action Action) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.faults, action)
}

// SetLatency delays every later request of action by d of real time before
// it is answered; 0 removes the delay. A client that gives up earlier sees
// its own timeout. Prefer [Server.Hold] for deterministic tests.
func (s *Server) SetLatency(action Action, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d <= 0 {
		delete(s.latency, action)
		return
	}
	s.latency[action] = d
}

// Hold makes requests of action that arrive from now on wait until release
// is called (or their client gives up, or the server closes). Combine it
// with [Server.WaitCalls] to know a request is waiting. release may be
// called more than once.
func (s *Server) Hold(action Action) (release func()) {
	g := &gate{ch: make(chan struct{})}
	s.mu.Lock()
	s.holds[action] = append(s.holds[action], g)
	s.mu.Unlock()
	return func() {
		g.once.Do(func() {
			s.mu.Lock()
			s.holds[action] = slices.DeleteFunc(s.holds[action], func(x *gate) bool { return x == g })
			s.mu.Unlock()
			close(g.ch)
		})
	}
}

// Calls returns how many requests of action reached the server, including
// failed, held and rejected ones.
func (s *Server) Calls(action Action) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[action]
}

// ResetCalls sets every counter of [Server.Calls] back to zero.
func (s *Server) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.calls)
	s.notifyLocked()
}

// WaitCalls blocks until at least n requests of action have reached the
// server, or ctx is done. A request counts as soon as it arrives, before a
// [Server.Hold] stops it, so WaitCalls then Hold's release is a
// deterministic way to let a test act while a request is in flight.
func (s *Server) WaitCalls(ctx context.Context, action Action, n int) error {
	for {
		s.mu.Lock()
		got, ch := s.calls[action], s.changed
		s.mu.Unlock()
		if got >= n {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// notifyLocked wakes WaitCalls; s.mu must be held.
func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// admit counts a request of action, then applies the rate limit (STS
// requests only, see [Server.Throttle]), holds, latency and faults in that
// order. It reports whether the handler should go on; when it
// returns false the response has been written (or the connection dropped).
func (s *Server) admit(w http.ResponseWriter, r *http.Request, action Action, kind endpointKind) bool {
	s.mu.Lock()
	s.calls[action]++
	s.notifyLocked()
	if kind == kindSTS {
		if ok, wait, l := s.take(); !ok {
			s.mu.Unlock()
			s.writeThrottled(w, action, wait, l)
			return false
		}
	}
	gates := slices.Clone(s.holds[action])
	latency := s.latency[action]
	var fault *Fault
	if q := s.faults[action]; len(q) > 0 {
		f := q[0].f
		fault = &f
		if q[0].left > 0 {
			q[0].left--
			if q[0].left == 0 {
				s.faults[action] = q[1:]
			}
		}
	}
	s.mu.Unlock()

	for _, g := range gates {
		if !wait(s, w, r, g.ch) {
			return false
		}
	}
	if latency > 0 {
		t := time.NewTimer(latency)
		defer t.Stop()
		if !wait(s, w, r, t.C) {
			return false
		}
	}
	if fault != nil {
		s.writeFault(w, action, kind, *fault)
		return false
	}
	return true
}

// wait blocks on ch; it gives up (and reports false) when the client leaves
// or the server closes.
func wait[T any](s *Server, w http.ResponseWriter, r *http.Request, ch <-chan T) bool {
	select {
	case <-ch:
		return true
	case <-r.Context().Done():
		return false
	case <-s.done:
		http.Error(w, "ststest: server closed", http.StatusServiceUnavailable)
		return false
	}
}

// writeFault answers with f in the format of kind.
func (s *Server) writeFault(w http.ResponseWriter, action Action, kind endpointKind, f Fault) {
	s.opts.logger.Debug("ststest fault", "action", action, "code", f.Code, "status", f.Status, "malformed", f.Malformed, "reset", f.Reset)
	switch {
	case f.Reset:
		resetConnection(w)
	case f.Malformed:
		status := f.Status
		if status == 0 {
			status = http.StatusOK
		}
		body := `{"issuer":"http://` // cut short
		if kind == kindSTS {
			w.Header().Set("Content-Type", "text/xml")
			body = "<" + string(action) + "Response xmlns=\"" + stsNamespace + "\"><" + string(action) + "Result><Credentials><AccessKeyId>ASIA"
		} else {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	case kind == kindSTS:
		code := f.Code
		if code == "" {
			code = "InternalFailure"
		}
		e := newError(code, f.Message)
		if f.Status != 0 {
			e.Status = f.Status
		}
		writeSTSError(w, newRequestID(), e)
	default:
		code, status := f.Code, f.Status
		if code == "" {
			code = "server_error"
		}
		if status == 0 {
			status = http.StatusBadRequest
			if code == "server_error" {
				status = http.StatusInternalServerError
			} else if code == "temporarily_unavailable" {
				status = http.StatusServiceUnavailable
			}
		}
		writeOAuthError(w, status, code, f.Message)
	}
}

// writeOAuthError writes an RFC 6749 §5.2 error response.
func writeOAuthError(w http.ResponseWriter, status int, code, description string) {
	body := map[string]string{"error": code}
	if description != "" {
		body["error_description"] = description
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// resetConnection hijacks the connection and closes it with SO_LINGER 0, so
// the client sees "connection reset by peer".
func resetConnection(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if nc, ok := conn.(interface{ NetConn() net.Conn }); ok {
		conn = nc.NetConn() // TLS: reset the TCP connection underneath
	}
	if tcp, ok := conn.(*net.TCPConn); ok {
		_ = tcp.SetLinger(0)
	}
	_ = conn.Close()
}
