package ststest

import (
	"crypto/subtle"
	"net/http"
)

// getCallerIdentity answers GetCallerIdentity for a request signed (SigV4)
// with credentials this server issued.
func (s *Server) getCallerIdentity(w http.ResponseWriter, req *stsRequest) {
	sess, apiErr := s.authenticate(req)
	if apiErr != nil {
		s.fail(w, req, apiErr)
		return
	}
	s.opts.logger.Debug("ststest request", "action", req.action, "status", 200, "access_key_id", sess.AccessKeyID, "request_id", req.requestID)
	writeXML(w, http.StatusOK, req.requestID, getCallerIdentityResponse{
		Xmlns: stsNamespace,
		Result: getCallerIdentityResult{
			Arn:     sess.assumedRoleARN,
			UserID:  sess.assumedRoleID,
			Account: sess.account,
		},
		ResponseMetadata: responseMetadata{RequestID: req.requestID},
	})
}

// authenticate finds the session whose credentials signed req, checking the
// session token, the signature and then expiry, with AWS's error codes.
func (s *Server) authenticate(req *stsRequest) (*session, *apiError) {
	header := req.r.Header.Get("Authorization")
	if header == "" {
		return nil, newError("MissingAuthenticationToken", "")
	}
	auth, apiErr := parseSigV4(header)
	if apiErr != nil {
		return nil, apiErr
	}
	sess, ok := s.lookup(auth.accessKeyID)
	if !ok {
		return nil, newError("InvalidClientTokenId", "")
	}
	token := req.r.Header.Get("X-Amz-Security-Token")
	if subtle.ConstantTimeCompare([]byte(token), []byte(sess.sessionToken)) != 1 {
		return nil, newError("InvalidClientTokenId", "")
	}
	if apiErr := verifySigV4(req.r, req.body, auth, sess.secretAccessKey, s.opts.Region); apiErr != nil {
		return nil, apiErr
	}
	if !s.now().Before(sess.Expiration) {
		return nil, newError("ExpiredToken", "")
	}
	return sess, nil
}
