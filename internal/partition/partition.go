// Package partition knows the STS region to use for a role when nothing
// configures one.
package partition

import "strings"

// regions are the usual STS regions of the AWS partitions that have one
// outside us-east-1.
var regions = map[string]string{
	"aws-cn":     "cn-north-1",
	"aws-us-gov": "us-gov-west-1",
}

// Region returns the usual STS region of roleARN's partition: cn-north-1
// for aws-cn, us-gov-west-1 for aws-us-gov, else us-east-1 (the region of
// STS's global endpoint, which serves every account of the aws partition).
func Region(roleARN string) string {
	if parts := strings.SplitN(roleARN, ":", 3); len(parts) == 3 && regions[parts[1]] != "" {
		return regions[parts[1]]
	}
	return "us-east-1"
}
