package ststest

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// stsVersion is the only API version STS speaks.
const stsVersion = "2011-06-15"

// stsRequest is one parsed Query protocol request.
type stsRequest struct {
	r         *http.Request
	body      []byte
	params    url.Values
	action    string
	requestID string
}

// serveSTS reads a Query protocol request (form body, Action, Version) and
// dispatches it.
func (s *Server) serveSTS(w http.ResponseWriter, r *http.Request) {
	req := &stsRequest{r: r, requestID: newRequestID()}
	apiErr := req.read(w, s.opts.maxBodyBytes)
	if !s.admit(w, r, Action(req.action), kindSTS) {
		return
	}
	if apiErr == nil {
		switch {
		case req.params.Get("Version") != stsVersion:
			apiErr = newError("InvalidAction", fmt.Sprintf("Could not find operation %s for version %s", req.action, req.params.Get("Version")))
		case req.action == string(ActionAssumeRoleWithWebIdentity):
			s.assumeRoleWithWebIdentity(w, req)
			return
		case req.action == string(ActionAssumeRole):
			s.assumeRole(w, req)
			return
		case req.action == string(ActionGetCallerIdentity):
			s.getCallerIdentity(w, req)
			return
		default:
			apiErr = newError("InvalidAction", fmt.Sprintf("Could not find operation %s for version %s", req.action, stsVersion))
		}
	}
	s.fail(w, req, apiErr)
}

// read fills body, params and action, within maxBytes.
func (req *stsRequest) read(w http.ResponseWriter, maxBytes int64) *apiError {
	body, err := io.ReadAll(http.MaxBytesReader(w, req.r.Body, maxBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return newError("RequestEntityTooLarge", fmt.Sprintf("Request body larger than %d bytes", maxBytes))
		}
		return newError("InvalidParameterValue", "Unreadable request body")
	}
	req.body = body
	req.params = req.r.URL.Query()
	if req.r.Method == http.MethodPost && len(bytes.TrimSpace(body)) > 0 {
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return newError("InvalidParameterValue", "Malformed form body")
		}
		for k, vs := range form {
			req.params[k] = append(req.params[k], vs...)
		}
	}
	req.action = req.params.Get("Action")
	if req.action == "" {
		return newError("MissingAction", "")
	}
	return nil
}

// fail writes an STS error and logs its code (never parameters).
func (s *Server) fail(w http.ResponseWriter, req *stsRequest, e *apiError) {
	s.opts.logger.Debug("ststest request", "action", req.action, "status", e.Status, "code", e.Code, "request_id", req.requestID)
	writeSTSError(w, req.requestID, e)
}

// newRequestID returns a random UUID (version 4), as AWS request IDs are.
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
