package partition

import "testing"

func TestRegion(t *testing.T) {
	for arn, want := range map[string]string{
		"arn:aws:iam::123456789012:role/r":        "us-east-1",
		"arn:aws-cn:iam::123456789012:role/r":     "cn-north-1",
		"arn:aws-us-gov:iam::123456789012:role/r": "us-gov-west-1",
		"arn:aws-iso:iam::123456789012:role/r":    "us-east-1",
		"arn:minio:iam:::role/x":                  "us-east-1",
		"":                                        "us-east-1",
		"aws-cn":                                  "us-east-1",
	} {
		if got := Region(arn); got != want {
			t.Errorf("Region(%q) = %q, want %q", arn, got, want)
		}
	}
}
