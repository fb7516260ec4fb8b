package tokensource_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/aws-sdk-go-v2/service/sts/types"

	"github.com/awsoidc/awsoidc/tokensource"
)

// retrieverFunc is a function-typed fake stscreds.IdentityTokenRetriever.
type retrieverFunc func() ([]byte, error)

func (f retrieverFunc) GetIdentityToken() ([]byte, error) { return f() }

func TestFromRetriever(t *testing.T) {
	exp := t0.Add(time.Hour)
	jwt := jwtExp(exp)
	errSDK := errors.New("retriever failed")
	tests := []struct {
		name    string
		r       stscreds.IdentityTokenRetriever
		want    tokensource.Token
		wantErr error
	}{
		{"JWT with newline", retrieverFunc(func() ([]byte, error) { return []byte(jwt + "\n"), nil }), tokensource.Token{Value: jwt, Expiry: exp}, nil},
		{"opaque", retrieverFunc(func() ([]byte, error) { return []byte("opaque"), nil }), tokensource.Token{Value: "opaque"}, nil},
		{"empty", retrieverFunc(func() ([]byte, error) { return nil, nil }), tokensource.Token{}, tokensource.ErrEmpty},
		{"error", retrieverFunc(func() ([]byte, error) { return nil, errSDK }), tokensource.Token{}, errSDK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tokensource.FromRetriever(tt.r).Token(context.Background())
			if got != tt.want || !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Fatalf("Token() = %v, %v; want %v, %v", got, err, tt.want, tt.wantErr)
			}
			var te *tokensource.Error
			if err != nil && (!errors.As(err, &te) || te.Source != "retriever") {
				t.Fatalf("error = %#v, want a *tokensource.Error from the retriever", err)
			}
		})
	}
}

func TestFromRetrieverIdentityTokenFile(t *testing.T) {
	path := tempPath(t, "token")
	writeFile(t, path, "file-token\n")
	tok, err := tokensource.FromRetriever(stscreds.IdentityTokenFile(path)).Token(context.Background())
	if err != nil || tok.Value != "file-token" {
		t.Fatalf("Token() = %q, %v", tok.Value, err)
	}
}

func TestAsRetriever(t *testing.T) {
	jwt := jwtExp(t0.Add(time.Hour))
	b, err := tokensource.AsRetriever(context.Background(), tokensource.Static(jwt)).GetIdentityToken()
	if err != nil || string(b) != jwt {
		t.Fatalf("GetIdentityToken() = %q, %v", b, err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	r := tokensource.AsRetriever(ctx, tokensource.Static(jwt))
	cancel()
	if b, err := r.GetIdentityToken(); !errors.Is(err, context.Canceled) || b != nil {
		t.Fatalf("GetIdentityToken() after cancel = %q, %v; want context.Canceled", b, err)
	}

	// Round trip.
	tok, err := tokensource.FromRetriever(tokensource.AsRetriever(context.Background(), tokensource.Static(jwt))).Token(context.Background())
	if err != nil || tok.Value != jwt || !tok.Expiry.Equal(t0.Add(time.Hour)) {
		t.Fatalf("round trip Token() = %v, %v", tok, err)
	}
}

// stsFunc is a function-typed fake of the SDK's STS client interface.
type stsFunc func(context.Context, *sts.AssumeRoleWithWebIdentityInput, ...func(*sts.Options)) (*sts.AssumeRoleWithWebIdentityOutput, error)

func (f stsFunc) AssumeRoleWithWebIdentity(ctx context.Context, in *sts.AssumeRoleWithWebIdentityInput, o ...func(*sts.Options)) (*sts.AssumeRoleWithWebIdentityOutput, error) {
	return f(ctx, in, o...)
}

// TestAsRetrieverWithSDKProvider plugs a Source into the SDK's own
// stscreds.WebIdentityRoleProvider and checks the token that reaches STS.
func TestAsRetrieverWithSDKProvider(t *testing.T) {
	path := tempPath(t, "token")
	writeFile(t, path, "web-identity-token\n")
	var sent string
	client := stsFunc(func(_ context.Context, in *sts.AssumeRoleWithWebIdentityInput, _ ...func(*sts.Options)) (*sts.AssumeRoleWithWebIdentityOutput, error) {
		sent = aws.ToString(in.WebIdentityToken)
		return &sts.AssumeRoleWithWebIdentityOutput{Credentials: &types.Credentials{
			AccessKeyId: aws.String("AKID"), SecretAccessKey: aws.String("SECRET"), SessionToken: aws.String("SESSION"),
			Expiration: aws.Time(t0.Add(time.Hour)),
		}}, nil
	})
	p := stscreds.NewWebIdentityRoleProvider(client, "arn:aws:iam::123456789012:role/r",
		tokensource.AsRetriever(context.Background(), tokensource.File(path)))
	if _, err := p.Retrieve(context.Background()); err != nil {
		t.Fatal(err)
	}
	if sent != "web-identity-token" {
		t.Fatalf("STS got WebIdentityToken %q", sent)
	}
}
