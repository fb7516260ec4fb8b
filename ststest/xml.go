package ststest

import (
	"encoding/xml"
	"net/http"
)

// stsNamespace is the XML namespace of every STS response.
const stsNamespace = "https://sts.amazonaws.com/doc/2011-06-15/"

// apiError is an STS error response: <ErrorResponse><Error><Type>, <Code>,
// <Message></Error><RequestId></ErrorResponse> with an HTTP status.
type apiError struct {
	Status  int
	Code    string
	Message string
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

// codeDefaults are the HTTP status and message AWS sends with each code.
var codeDefaults = map[string]struct {
	status  int
	message string
}{
	"AccessDenied":                {http.StatusForbidden, "Not authorized to perform sts:AssumeRoleWithWebIdentity"},
	"ExpiredTokenException":       {http.StatusBadRequest, "Token expired"},
	"ExpiredToken":                {http.StatusForbidden, "The security token included in the request is expired"},
	"IDPCommunicationError":       {http.StatusBadRequest, "Couldn't retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements"},
	"IDPRejectedClaim":            {http.StatusForbidden, "The identity provider rejected the claim"},
	"IncompleteSignature":         {http.StatusForbidden, "The request signature does not conform to AWS standards."},
	"InternalFailure":             {http.StatusInternalServerError, "The request processing has failed because of an unknown error, exception or failure."},
	"InvalidAction":               {http.StatusBadRequest, "Could not find operation for version 2011-06-15"},
	"InvalidClientTokenId":        {http.StatusForbidden, "The security token included in the request is invalid."},
	"InvalidIdentityToken":        {http.StatusBadRequest, "Couldn't verify the web identity token"},
	"InvalidParameterValue":       {http.StatusBadRequest, "An invalid or out-of-range value was supplied for the input parameter."},
	"MalformedPolicyDocument":     {http.StatusBadRequest, "Syntax errors in policy."},
	"MissingAction":               {http.StatusBadRequest, "Missing Action"},
	"MissingAuthenticationToken":  {http.StatusForbidden, "Request is missing Authentication Token"},
	"PackedPolicyTooLarge":        {http.StatusBadRequest, "Packed policy consumes more than 100% of allotted space, please use smaller policy."},
	"RegionDisabledException":     {http.StatusForbidden, "STS is not activated in this region for account. Your account administrator can activate STS in this region using the IAM Console."},
	"RequestEntityTooLarge":       {http.StatusRequestEntityTooLarge, "Request body too large"},
	"ServiceUnavailable":          {http.StatusServiceUnavailable, "Service is unavailable. Please retry later."},
	"SignatureDoesNotMatch":       {http.StatusForbidden, "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."},
	"Throttling":                  {http.StatusBadRequest, "Rate exceeded"},
	"ThrottlingException":         {http.StatusBadRequest, "Rate exceeded"},
	"RequestLimitExceeded":        {http.StatusBadRequest, "Request limit exceeded."},
	"ValidationError":             {http.StatusBadRequest, "1 validation error detected"},
	"InvalidAuthorizationMessage": {http.StatusBadRequest, "Invalid authorization message"},
}

// newError returns the error code with AWS's status and, when msg is empty,
// its default message. Unknown codes get 400.
func newError(code, msg string) *apiError {
	d, ok := codeDefaults[code]
	if !ok {
		d.status = http.StatusBadRequest
		d.message = code
	}
	if msg == "" {
		msg = d.message
	}
	return &apiError{Status: d.status, Code: code, Message: msg}
}

type xmlErrorResponse struct {
	XMLName   xml.Name `xml:"ErrorResponse"`
	Xmlns     string   `xml:"xmlns,attr"`
	Error     xmlError `xml:"Error"`
	RequestID string   `xml:"RequestId"`
}

type xmlError struct {
	Type    string `xml:"Type"`
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}

type responseMetadata struct {
	RequestID string `xml:"RequestId"`
}

type xmlCredentials struct {
	AccessKeyID     string `xml:"AccessKeyId"`
	SecretAccessKey string `xml:"SecretAccessKey"`
	SessionToken    string `xml:"SessionToken"`
	Expiration      string `xml:"Expiration"`
}

type xmlAssumedRoleUser struct {
	Arn           string `xml:"Arn"`
	AssumedRoleID string `xml:"AssumedRoleId"`
}

type assumeRoleWithWebIdentityResponse struct {
	XMLName          xml.Name                        `xml:"AssumeRoleWithWebIdentityResponse"`
	Xmlns            string                          `xml:"xmlns,attr"`
	Result           assumeRoleWithWebIdentityResult `xml:"AssumeRoleWithWebIdentityResult"`
	ResponseMetadata responseMetadata                `xml:"ResponseMetadata"`
}

type assumeRoleWithWebIdentityResult struct {
	Credentials                 xmlCredentials     `xml:"Credentials"`
	SubjectFromWebIdentityToken string             `xml:"SubjectFromWebIdentityToken"`
	AssumedRoleUser             xmlAssumedRoleUser `xml:"AssumedRoleUser"`
	PackedPolicySize            *int               `xml:"PackedPolicySize,omitempty"`
	Provider                    string             `xml:"Provider"`
	Audience                    string             `xml:"Audience"`
	SourceIdentity              string             `xml:"SourceIdentity,omitempty"`
	SessionTokenSize            int                `xml:"SessionTokenSize"`
}

type getCallerIdentityResponse struct {
	XMLName          xml.Name                `xml:"GetCallerIdentityResponse"`
	Xmlns            string                  `xml:"xmlns,attr"`
	Result           getCallerIdentityResult `xml:"GetCallerIdentityResult"`
	ResponseMetadata responseMetadata        `xml:"ResponseMetadata"`
}

type getCallerIdentityResult struct {
	Arn     string `xml:"Arn"`
	UserID  string `xml:"UserId"`
	Account string `xml:"Account"`
}

// writeXML writes v as an STS response body with status.
func writeXML(w http.ResponseWriter, status int, requestID string, v any) {
	body, err := xml.Marshal(v)
	if err != nil {
		http.Error(w, "ststest: encoding response", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("X-Amzn-Requestid", requestID)
	w.WriteHeader(status)
	_, _ = w.Write([]byte(xml.Header))
	_, _ = w.Write(body)
}

// writeSTSError writes e as an STS ErrorResponse. Type is Receiver for 5xx
// and Sender otherwise, as AWS sends.
func writeSTSError(w http.ResponseWriter, requestID string, e *apiError) {
	typ := "Sender"
	if e.Status >= 500 {
		typ = "Receiver"
	}
	writeXML(w, e.Status, requestID, xmlErrorResponse{
		Xmlns:     stsNamespace,
		Error:     xmlError{Type: typ, Code: e.Code, Message: e.Message},
		RequestID: requestID,
	})
}
