package provider

import (
	"strings"
	"testing"
)

func TestErrorCode(t *testing.T) {
	for code, want := range map[string]string{
		"":                      "",
		"IDPRejectedClaim":      "IDPRejectedClaim",
		"Sender.Throttling":     "Sender.Throttling",
		"InvalidParameterValue": "InvalidParameterValue",
		"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln": "InvalidErrorCode",
		"Code with spaces":                          "InvalidErrorCode",
		strings.Repeat("A", 65):                     "InvalidErrorCode",
	} {
		if got := errorCode(code); got != want {
			t.Errorf("errorCode(%.20q) = %q, want %q", code, got, want)
		}
	}
}
