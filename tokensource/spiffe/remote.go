package spiffe

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// remoteError returns the error of a failed FetchJWTSVID call, without the
// call's own error, whose message and details come from the server and may
// quote a token.
//
// It keeps the gRPC code, in a status error found by status.Code(err),
// with a message in which anything that looks like a token is replaced by
// "[REDACTED]", and without the details. When ctx ended the wait,
// it wraps ctx.Err() as well.
func remoteError(ctx context.Context, err error) error {
	st := status.Convert(err)
	cause := fmt.Errorf("FetchJWTSVID: %w%s", status.Error(st.Code(), scrub(st.Message())), hint(st.Code()))
	cerr := ctx.Err()
	if d, ok := ctx.Deadline(); ok && cerr == nil && st.Code() == codes.DeadlineExceeded && !time.Now().Before(d) {
		// The server's deadline, which is ours as sent with the call, fired
		// a moment before ctx's timer: gRPC itself reads it so.
		cerr = context.DeadlineExceeded
	}
	if cerr != nil {
		return fmt.Errorf("%w while waiting for the Workload API: %w", cerr, cause)
	}
	return cause
}

// hint says what usually causes the codes a misconfigured workload gets.
func hint(c codes.Code) string {
	switch c {
	case codes.Unavailable:
		return " (is the SPIRE agent running, and listening at this address?)"
	case codes.PermissionDenied:
		// SPIRE's "no identity issued".
		return " (does a registration entry match this workload, and has the agent attested it yet?)"
	case codes.Unimplemented:
		return " (the server at this address is not a SPIFFE Workload API)"
	}
	return ""
}
