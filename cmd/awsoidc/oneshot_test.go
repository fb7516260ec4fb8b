package main

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

func TestPolicyFor(t *testing.T) {
	tests := []struct {
		d                     time.Duration
		margin, refreshBefore time.Duration
	}{
		{0, 5 * time.Minute, 21 * time.Minute},
		{time.Hour, 5 * time.Minute, 21 * time.Minute},
		{12 * time.Hour, 5 * time.Minute, 21 * time.Minute},
		{30 * time.Minute, 3 * time.Minute, 15 * time.Minute},
		{15 * time.Minute, 90 * time.Second, 450 * time.Second},
	}
	for _, tt := range tests {
		p := policyFor(tt.d)
		if p.margin != tt.margin || p.refreshBefore != tt.refreshBefore {
			t.Errorf("policyFor(%s) = %+v, want margin %s, refreshBefore %s", tt.d, p, tt.margin, tt.refreshBefore)
		}
		// The AWS CLI asks again 15 minutes before Expiration: by then
		// the stored credentials must no longer be reused, or it would ask
		// on every call. Only for lifetimes of at least 45 minutes can both
		// hold with credentials used for more than half their life.
		if tt.d == 0 || tt.d >= 45*time.Minute {
			if p.refreshBefore <= p.margin+15*time.Minute {
				t.Errorf("policyFor(%s): refreshBefore %s does not cover botocore's window before Expiration (%s)", tt.d, p.refreshBefore, p.margin+15*time.Minute)
			}
		}
	}
}

func TestRefreshPolicyDecisions(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	p := policyFor(time.Hour)
	creds := func(left time.Duration) aws.Credentials {
		return aws.Credentials{AccessKeyID: "AKID", SecretAccessKey: "SECRET", CanExpire: true, Expires: now.Add(left)}
	}
	tests := []struct {
		left     time.Duration
		reusable bool
		printed  time.Time
	}{
		{time.Hour, true, now.Add(55 * time.Minute)},
		{22 * time.Minute, true, now.Add(17 * time.Minute)},
		{21 * time.Minute, false, now.Add(16 * time.Minute)},
		{10 * time.Minute, false, now.Add(5 * time.Minute)},
		{5 * time.Minute, false, now.Add(5 * time.Minute)}, // E - margin is now: the real expiry
		{time.Minute, false, now.Add(time.Minute)},
		{-time.Minute, false, now.Add(-time.Minute)},
	}
	for _, tt := range tests {
		c := creds(tt.left)
		if got := p.reusable(c, now); got != tt.reusable {
			t.Errorf("%s left: reusable = %t, want %t", tt.left, got, tt.reusable)
		}
		if got := p.expiration(c, now); !got.Equal(tt.printed) {
			t.Errorf("%s left: expiration = %s, want %s", tt.left, got, tt.printed)
		}
	}
	if p.reusable(aws.Credentials{AccessKeyID: "AKID", SecretAccessKey: "SECRET"}, now) {
		t.Error("credentials without expiry are reusable")
	}
	if p.reusable(aws.Credentials{CanExpire: true, Expires: now.Add(time.Hour)}, now) {
		t.Error("credentials without keys are reusable")
	}
}
