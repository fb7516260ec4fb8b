package cache_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/awsoidc/awsoidc/cache"
)

// slowProvider stands for provider.New(...): an STS call per Retrieve.
var slowProvider = aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
	return aws.Credentials{
		AccessKeyID:     "AKIDEXAMPLE",
		SecretAccessKey: "secret",
		SessionToken:    "token",
		CanExpire:       true,
		Expires:         time.Now().Add(time.Hour),
	}, nil
})

func ExampleNew() {
	calls := 0
	counted := aws.CredentialsProviderFunc(func(ctx context.Context) (aws.Credentials, error) {
		calls++
		return slowProvider(ctx)
	})
	c := cache.New(counted)
	defer c.Close()

	ctx := context.Background()
	for i := 0; i < 1000; i++ {
		if _, err := c.Retrieve(ctx); err != nil {
			panic(err)
		}
	}
	creds, _ := c.Retrieve(ctx)
	// Expires is when the cache wants to be asked again, not the real
	// expiry: for these 1-hour credentials, 45 to 50 minutes after they
	// were fetched (jitter), never in the last 10 minutes. The first
	// refresh after a start is drawn from the whole time until then, to
	// break up a fleet started at once, so here it is anywhere in the next
	// 50 minutes.
	left := time.Until(creds.Expires)
	fmt.Println(creds.AccessKeyID, "provider calls:", calls, "refresh ahead:", left > 0 && left <= 50*time.Minute)
	// Output: AKIDEXAMPLE provider calls: 1 refresh ahead: true
}

// The drop-in use: hand the Cache to the SDK. The SDK wraps it in its own
// aws.CredentialsCache, which asks the Cache again only at the moment the
// Cache said; the Cache has fresh credentials ready then, so no SDK call
// waits for STS.
func Example_sdkConfig() {
	c := cache.New(slowProvider, func(o *cache.Options) {
		o.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil)) // refresh failures
		o.OnRefresh = func(ev cache.RefreshEvent) {
			// Feed metrics: ev.Outcome, ev.ErrorClass, ev.Duration, ev.NextRefresh.
		}
	})
	defer c.Close()

	cfg, err := config.LoadDefaultConfig(context.Background(),
		config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(c),
	)
	if err != nil {
		panic(err)
	}
	// sts.NewFromConfig(cfg), s3.NewFromConfig(cfg), ... sign with it.
	creds, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil {
		panic(err)
	}
	fmt.Println(creds.AccessKeyID)
	// Output: AKIDEXAMPLE
}

// A daemon keeps its credentials fresh even when it makes no call for
// hours: Start refreshes in the background until ctx is done or Close.
func ExampleCache_Start() {
	ctx, stop := context.WithCancel(context.Background())
	defer stop()

	c := cache.New(slowProvider)
	defer c.Close() // stops the refresher and waits for it
	c.Start(ctx)

	creds, err := c.Retrieve(ctx)
	if err != nil {
		panic(err)
	}
	fmt.Println(creds.AccessKeyID)
	// Output: AKIDEXAMPLE
}
