package ststest_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/awsoidc/awsoidc/ststest"
)

// A test limits the server to a request every 100 s with a burst of 2, as STS
// limits an account, and sees the third request of the same instant
// throttled. Transport keeps every request in memory, so the same code runs
// inside a testing/synctest bubble, where the bucket refills on the
// bubble's virtual clock.
func ExampleServer_Throttle() {
	srv := ststest.NewServer()
	defer srv.Close()
	srv.Throttle(ststest.RateLimit{Rate: 0.01, Burst: 2})

	client := srv.STSClient(func(o *sts.Options) {
		o.HTTPClient = &http.Client{Transport: srv.Transport()}
		o.Retryer = aws.NopRetryer{} // see each answer
	})
	in := &sts.AssumeRoleWithWebIdentityInput{
		RoleArn:          aws.String(srv.AddRole(ststest.Role{Name: "app"})),
		RoleSessionName:  aws.String("example"),
		WebIdentityToken: aws.String(srv.MintToken(ststest.Claims{})),
	}
	for range 3 {
		_, err := client.AssumeRoleWithWebIdentity(context.Background(), in)
		var apiErr smithy.APIError
		if errors.As(err, &apiErr) {
			fmt.Println(apiErr.ErrorCode(), apiErr.ErrorMessage())
		} else {
			fmt.Println("ok", err)
		}
	}
	// Output:
	// ok <nil>
	// ok <nil>
	// Throttling Rate exceeded
}
