package awsoidc

import (
	"context"
	"errors"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/awsoidc/awsoidc/cache"
)

// expiredCodes are the error codes with which AWS services answer a request
// signed with credentials that have expired: ExpiredToken (the Query and
// REST-XML services: STS, S3, EC2, ...) and ExpiredTokenException (the JSON
// services: DynamoDB, Kinesis, ...). They are the codes on which the Java
// SDK (aws/aws-sdk-java-v2#7108, which dropped AuthFailure because EC2
// also uses it for authorization failures) and the Rust SDK
// (smithy-lang/smithy-rs#4774) invalidate cached credentials. RequestExpired
// is left out: it means the signature's timestamp is too old, a clock skew
// that the SDK's retryer corrects with the same credentials.
var expiredCodes = map[string]bool{
	"ExpiredToken":          true,
	"ExpiredTokenException": true,
}

// isExpired reports whether err is an AWS service's answer that the
// request's credentials have expired.
func isExpired(err error) bool {
	var apiErr smithy.APIError
	return errors.As(err, &apiErr) && expiredCodes[apiErr.ErrorCode()]
}

// RetryExpired returns a client middleware, for aws.Config.APIOptions or
// a client's Options.APIOptions, that retries once a request that an AWS
// service answered with ExpiredToken or ExpiredTokenException. Before the
// retry it drops the credentials the request was signed with from creds,
// with [cache.InvalidateIfUsed], only if creds still holds them, so that
// the retry is signed with fresh credentials and a hundred requests
// failing at once cause one refresh. A request that creds did not sign
// (a client whose Credentials were replaced by another provider's) is not
// retried, nor one whose body cannot be rewound, nor one whose context
// ended. A retry that fails again is returned as is: there is never a
// second retry. Any other error is returned untouched.
//
// creds must be the provider the client signs with. After
//
//	cfg, err := config.LoadDefaultConfig(ctx, config.WithCredentialsProvider(c))
//
// with c a [cache.Cache], that is cfg.Credentials, the SDK's
// aws.CredentialsCache around c:
//
//	cfg.APIOptions = append(cfg.APIOptions, awsoidc.RetryExpired(cfg.Credentials))
//
// The retry runs the SDK's whole retry loop again, so it resolves the
// credentials and signs anew. Adding the middleware to a stack that
// already has it does nothing.
func RetryExpired(creds aws.CredentialsProvider) func(*middleware.Stack) error {
	return func(s *middleware.Stack) error {
		if _, ok := s.Finalize.Get(retryExpiredID); ok {
			return nil
		}
		m := &retryExpired{creds: creds}
		var err error
		if _, ok := s.Finalize.Get("Retry"); ok {
			err = s.Finalize.Insert(m, "Retry", middleware.Before)
		} else {
			err = s.Finalize.Add(m, middleware.Before)
		}
		if err != nil {
			return err
		}
		// Signing is a Finalize step: the end of Finalize sees the request
		// as it is sent, signed.
		return s.Finalize.Add(signedWith{}, middleware.After)
	}
}

const retryExpiredID = "awsoidc.RetryExpired"

// retryExpired is the middleware of [RetryExpired], placed before the
// SDK's retry loop.
type retryExpired struct{ creds aws.CredentialsProvider }

func (*retryExpired) ID() string { return retryExpiredID }

// usedKey is the context key of the *usedCreds of one operation.
type usedKey struct{}

// usedCreds is the access key ID that signed an operation's last attempt.
// Attempts run one after another, on the caller's goroutine.
type usedCreds struct{ accessKeyID string }

func (m *retryExpired) HandleFinalize(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
	used := &usedCreds{}
	ctx = context.WithValue(ctx, usedKey{}, used)
	out, md, err := next.HandleFinalize(ctx, in)
	if err == nil || !isExpired(err) || used.accessKeyID == "" {
		return out, md, err
	}
	req, ok := in.Request.(*smithyhttp.Request)
	if !ok {
		return out, md, err
	}
	// The retry loop signs clones of in.Request, which stays unsigned; its
	// body was read, and a second loop starts without rewinding it.
	again := req.Clone()
	if rerr := again.RewindStream(); rerr != nil {
		return out, md, err
	}
	// A request signed by another provider (a client whose Credentials
	// were replaced, static keys) would be signed with the same keys
	// again: no retry. Nor when the caller has given up.
	if !cache.InvalidateIfUsed(ctx, m.creds, used.accessKeyID) || ctx.Err() != nil {
		return out, md, err
	}
	in.Request = again
	return next.HandleFinalize(ctx, in)
}

// signedWith records, at the end of Finalize, the access key ID that
// signed the request, for [retryExpired].
type signedWith struct{}

func (signedWith) ID() string { return "awsoidc.RetryExpiredSignedWith" }

func (signedWith) HandleFinalize(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
	if used, ok := ctx.Value(usedKey{}).(*usedCreds); ok {
		if req, ok := in.Request.(*smithyhttp.Request); ok {
			used.accessKeyID = credentialOf(req.Header.Get("Authorization"))
		}
	}
	return next.HandleFinalize(ctx, in)
}

// credentialOf returns the access key ID of a SigV4 or SigV4a Authorization
// header ("AWS4-HMAC-SHA256 Credential=<id>/<scope>, ..."), or "".
func credentialOf(authorization string) string {
	_, rest, ok := strings.Cut(authorization, "Credential=")
	if !ok {
		return ""
	}
	id, _, ok := strings.Cut(rest, "/")
	if !ok {
		return ""
	}
	return id
}
