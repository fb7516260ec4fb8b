package ststest_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/aws-sdk-go-v2/service/sts/types"
	"golang.org/x/oauth2"

	"github.com/awsoidc/awsoidc/ststest"
)

// A test starts a server, trusts its issuer from a role, mints a token and
// exchanges it with the real STS client.
func ExampleNewServer() {
	srv := ststest.NewServer()
	defer srv.Close()

	roleARN := srv.AddRole(ststest.Role{Name: "app", Subject: "system:serviceaccount:default:*"})
	token := srv.MintToken(ststest.Claims{Subject: "system:serviceaccount:default:app"})

	out, err := srv.STSClient().AssumeRoleWithWebIdentity(context.Background(), &sts.AssumeRoleWithWebIdentityInput{
		RoleArn:          aws.String(roleARN),
		RoleSessionName:  aws.String("example"),
		WebIdentityToken: aws.String(token),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(aws.ToString(out.AssumedRoleUser.Arn))

	// The credentials work against the same server.
	creds := aws.Credentials{
		AccessKeyID:     aws.ToString(out.Credentials.AccessKeyId),
		SecretAccessKey: aws.ToString(out.Credentials.SecretAccessKey),
		SessionToken:    aws.ToString(out.Credentials.SessionToken),
	}
	provider := aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return creds, nil })
	id, err := sts.NewFromConfig(srv.Config(provider)).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(aws.ToString(id.Account))
	// Output:
	// arn:aws:sts::123456789012:assumed-role/app/example
	// 123456789012
}

// Fail scripts errors: here STS answers IDPCommunicationError once, and the
// real client, which does not retry with Retryer set to aws.NopRetryer,
// returns the typed error.
func ExampleServer_Fail() {
	srv := ststest.NewServer()
	defer srv.Close()
	srv.Fail(ststest.ActionAssumeRoleWithWebIdentity, ststest.Fault{Code: "IDPCommunicationError"})

	client := srv.STSClient(func(o *sts.Options) { o.Retryer = aws.NopRetryer{} })
	in := &sts.AssumeRoleWithWebIdentityInput{
		RoleArn:          aws.String(srv.AddRole(ststest.Role{Name: "app"})),
		RoleSessionName:  aws.String("example"),
		WebIdentityToken: aws.String(srv.MintToken(ststest.Claims{})),
	}
	_, err := client.AssumeRoleWithWebIdentity(context.Background(), in)
	var idpErr *types.IDPCommunicationErrorException
	fmt.Println(errors.As(err, &idpErr))
	_, err = client.AssumeRoleWithWebIdentity(context.Background(), in)
	fmt.Println(err, srv.Calls(ststest.ActionAssumeRoleWithWebIdentity))
	// Output:
	// true
	// <nil> 2
}

// Hold and WaitCalls let a test act while a request is in flight, without
// sleeping.
func ExampleServer_Hold() {
	srv := ststest.NewServer()
	defer srv.Close()
	in := &sts.AssumeRoleWithWebIdentityInput{
		RoleArn:          aws.String(srv.AddRole(ststest.Role{Name: "app"})),
		RoleSessionName:  aws.String("example"),
		WebIdentityToken: aws.String(srv.MintToken(ststest.Claims{})),
	}

	release := srv.Hold(ststest.ActionAssumeRoleWithWebIdentity)
	done := make(chan error)
	go func() {
		_, err := srv.STSClient().AssumeRoleWithWebIdentity(context.Background(), in)
		done <- err
	}()
	_ = srv.WaitCalls(context.Background(), ststest.ActionAssumeRoleWithWebIdentity, 1)
	fmt.Println("request in flight")
	release()
	fmt.Println(<-done)
	// Output:
	// request in flight
	// <nil>
}

// The device authorization grant (RFC 8628) end to end: a client starts a
// login, the test plays the user and approves the code, the client's poll
// gets a signed ID token, and STS accepts it for a role that trusts the
// client ID.
func ExampleServer_Approve() {
	ctx := context.Background()
	srv := ststest.NewServer()
	defer srv.Close()
	srv.AddClient(ststest.Client{ID: "cli", RotateRefreshTokens: true})
	roleARN := srv.AddRole(ststest.Role{Name: "people", Audience: "cli"})

	cfg := &oauth2.Config{
		ClientID: "cli",
		Scopes:   []string{"openid", "offline_access"},
		Endpoint: oauth2.Endpoint{
			DeviceAuthURL: srv.Issuer() + "/device/code",
			TokenURL:      srv.Issuer() + "/token",
			AuthStyle:     oauth2.AuthStyleInParams,
		},
	}
	da, err := cfg.DeviceAuth(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}

	// The user reads the code and approves it in a browser.
	userCode, _ := srv.WaitUserCode(ctx)
	_ = srv.Approve(userCode, "alice")

	// One poll of the token endpoint (RFC 8628 §3.4). Real clients loop
	// with cfg.DeviceAccessToken.
	tok, err := cfg.Exchange(ctx, "",
		oauth2.SetAuthURLParam("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
		oauth2.SetAuthURLParam("device_code", da.DeviceCode))
	if err != nil {
		fmt.Println(err)
		return
	}
	idToken, _ := tok.Extra("id_token").(string)

	out, err := srv.STSClient().AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{
		RoleArn:          aws.String(roleARN),
		RoleSessionName:  aws.String("alice"),
		WebIdentityToken: aws.String(idToken),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(aws.ToString(out.SubjectFromWebIdentityToken), aws.ToString(out.AssumedRoleUser.Arn))
	// Output:
	// alice arn:aws:sts::123456789012:assumed-role/people/alice
}
