package ststest

import (
	"bytes"
	"compress/flate"
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// maxPolicyPlaintext is the session policy budget STS allows, shared by the
// inline policy and the policy ARNs.
const maxPolicyPlaintext = 2048

// checkPolicySyntax reports MalformedPolicyDocument unless policy is a JSON
// object with a Statement, as IAM's grammar requires.
func checkPolicySyntax(policy string) *apiError {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal([]byte(policy), &doc); err != nil {
		return newError("MalformedPolicyDocument", "Syntax errors in policy.")
	}
	if _, ok := doc["Statement"]; !ok {
		return newError("MalformedPolicyDocument", "Policy document must contain a Statement.")
	}
	return nil
}

// packedPolicySize returns the percentage of the packed budget the session
// policy and policy ARNs use: the larger of their plaintext length against
// 2048 characters and their DEFLATE size against limit bytes. It is 0 when
// there is no session policy at all.
func packedPolicySize(policy string, arns []string, limit int) int {
	if policy == "" && len(arns) == 0 {
		return 0
	}
	var plain bytes.Buffer
	if policy != "" {
		if err := json.Compact(&plain, []byte(policy)); err != nil {
			plain.WriteString(policy)
		}
	}
	plaintext := utf8.RuneCountInString(policy) // the budget is in characters
	for _, a := range arns {
		plain.WriteString(a)
		plaintext += utf8.RuneCountInString(a)
	}
	var packed bytes.Buffer
	zw, _ := flate.NewWriter(&packed, flate.BestCompression)
	_, _ = zw.Write(plain.Bytes())
	_ = zw.Close()
	return max(ceilPercent(plaintext, maxPolicyPlaintext), ceilPercent(packed.Len(), limit))
}

func ceilPercent(n, of int) int { return (n*100 + of - 1) / of }

// packedTooLarge is STS's error for a session policy over budget.
func packedTooLarge(percent int) *apiError {
	return newError("PackedPolicyTooLarge", fmt.Sprintf("Packed policy consumes %d%% of allotted space, please use smaller policy.", percent))
}
