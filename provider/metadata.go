package provider

import (
	"errors"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// ProviderName is the Source of the credentials a [Provider] returns.
const ProviderName = "AWSOIDCWebIdentity"

// Metadata describes a successful AssumeRoleWithWebIdentity call: what STS
// answered besides the credentials, and how the provider got there. It holds
// no secret.
type Metadata struct {
	// AssumedRoleARN is the ARN of the role session,
	// arn:aws:sts::<account>:assumed-role/<role>/<session>.
	AssumedRoleARN string
	// AssumedRoleID is the session's unique identifier, <role id>:<session>.
	AssumedRoleID string
	// SubjectFromWebIdentityToken is the token's "sub" claim as STS read it.
	SubjectFromWebIdentityToken string
	// Audience is the token's audience (its "aud", or "azp" when set).
	Audience string
	// Provider is the issuer of the token (for OIDC, its "iss" claim).
	Provider string
	// SourceIdentity is the source identity STS recorded for the session,
	// if the token carried one.
	SourceIdentity string
	// PackedPolicyPercent is the percentage of the packed size limit the
	// session policies and tags use (PackedPolicySize in the API, which the
	// SDK marks deprecated in favour of SessionTokenUtilization;
	// STS-compatible servers may still send it).
	PackedPolicyPercent int32
	// SessionTokenSize is the size of the session token in bytes.
	SessionTokenSize int32
	// SessionTokenUtilization is the percentage (0-100) of the maximum
	// session token size that the session token uses.
	SessionTokenUtilization int32
	// Expires is when the credentials expire, on the local clock
	// (Options.Clock): STSExpiration less ClockSkew, and never later than
	// the requested duration after the answer arrived when ClockSkew is not
	// zero. It equals the Expires of the credentials returned with it.
	Expires time.Time
	// STSExpiration is the Expiration STS returned, on STS's clock.
	STSExpiration time.Time
	// ServerTime is the Date header of STS's answer, on STS's clock; zero
	// when the answer had none (or the STSClient is not the SDK's).
	ServerTime time.Time
	// ClockSkew is the correction applied to Expires: how far STS's clock
	// was ahead of the local clock when the answer arrived (ServerTime −
	// local time; negative when the local clock is ahead), whatever its
	// size. It is zero when nothing was corrected: the difference is under
	// 5 seconds, ServerTime is unknown, Options.DisableClockSkewCorrection
	// is set, or the answer's stated lifetime (STSExpiration − ServerTime) is
	// not the session asked for (longer than the requested duration plus a
	// minute, or shorter than 15 minutes less a minute), so that its Date is
	// not STS's clock (a warning is then logged, and Expires equals
	// STSExpiration).
	ClockSkew time.Duration

	// RoleSessionName is the session name that was sent: the configured one
	// or the default (see [Options].RoleSessionName).
	RoleSessionName string
	// RequestID is the STS request ID of the successful call, for AWS
	// support.
	RequestID string
	// Attempts is the number of requests sent to STS, the successful one
	// included.
	Attempts int
	// TokenRefreshed reports whether a fresh token was fetched after
	// ExpiredTokenException or InvalidIdentityToken.
	TokenRefreshed bool
}

// errNoCredentials is the cause of a [RetrieveError] when STS answered
// without usable credentials.
var errNoCredentials = errors.New("STS answer holds no credentials (access key, secret key, session token and expiration are all required)")

// result turns a successful answer into credentials and metadata.
func result(out *sts.AssumeRoleWithWebIdentityOutput) (aws.Credentials, Metadata, error) {
	if out == nil {
		return aws.Credentials{}, Metadata{}, errNoCredentials
	}
	c := out.Credentials
	if c == nil || aws.ToString(c.AccessKeyId) == "" || aws.ToString(c.SecretAccessKey) == "" ||
		aws.ToString(c.SessionToken) == "" || c.Expiration == nil {
		return aws.Credentials{}, Metadata{}, errNoCredentials
	}
	md := Metadata{
		SubjectFromWebIdentityToken: aws.ToString(out.SubjectFromWebIdentityToken),
		Audience:                    aws.ToString(out.Audience),
		Provider:                    aws.ToString(out.Provider),
		SourceIdentity:              aws.ToString(out.SourceIdentity),
		SessionTokenSize:            aws.ToInt32(out.SessionTokenSize),
		SessionTokenUtilization:     aws.ToInt32(out.SessionTokenUtilization),
		Expires:                     aws.ToTime(c.Expiration),
	}
	//lint:ignore SA1019 Metadata reports it, and STS-compatible servers still send it.
	md.PackedPolicyPercent = aws.ToInt32(out.PackedPolicySize) //nolint:staticcheck // SA1019, see above.
	if u := out.AssumedRoleUser; u != nil {
		md.AssumedRoleARN = aws.ToString(u.Arn)
		md.AssumedRoleID = aws.ToString(u.AssumedRoleId)
	}
	md.RequestID, _ = awsmiddleware.GetRequestIDMetadata(out.ResultMetadata)
	creds := aws.Credentials{
		AccessKeyID:     aws.ToString(c.AccessKeyId),
		SecretAccessKey: aws.ToString(c.SecretAccessKey),
		SessionToken:    aws.ToString(c.SessionToken),
		Source:          ProviderName,
		CanExpire:       true,
		Expires:         md.Expires,
		AccountID:       accountID(md.AssumedRoleARN),
	}
	return creds, md, nil
}

// accountID returns the account field of an ARN
// (arn:partition:service:region:account:resource), or "".
func accountID(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" {
		return ""
	}
	return parts[4]
}
