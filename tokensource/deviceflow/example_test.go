package deviceflow_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"

	"github.com/awsoidc/awsoidc/tokensource/deviceflow"
)

// A command-line program signs the user in once, with a prompt on stderr;
// later runs, and other processes, renew the ID token silently with the
// stored refresh token.
func Example() {
	src, err := deviceflow.New("https://login.example.com/realms/dev", "awsoidc-cli", func(o *deviceflow.Options) {
		o.Interactive = true // prompt when no refresh token works
	})
	if err != nil {
		log.Fatal(err)
	}
	tok, err := src.Token(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("ID token valid until", tok.Expiry)
}

// A program that must never prompt (a credential_process helper) tells the
// user which login to run.
func ExampleErrLoginRequired() {
	src, err := deviceflow.New("https://login.example.com/realms/dev", "awsoidc-cli")
	if err != nil {
		log.Fatal(err)
	}
	if _, err := src.Token(context.Background()); errors.Is(err, deviceflow.ErrLoginRequired) {
		fmt.Fprintf(os.Stderr, "%v; run \"mytool login\"\n", err)
		os.Exit(1)
	}
}

// Login forces a new device login, for a "login" command, and tells a
// denied request from an expired code.
func ExampleSource_Login() {
	src, err := deviceflow.New("https://login.example.com/realms/dev", "awsoidc-cli")
	if err != nil {
		log.Fatal(err)
	}
	switch err := src.Login(context.Background()); {
	case errors.Is(err, deviceflow.ErrAccessDenied):
		log.Fatal("the login was denied")
	case errors.Is(err, deviceflow.ErrExpiredToken):
		log.Fatal("the code expired; run the login again")
	case err != nil:
		log.Fatal(err)
	}
}

// A Prompter shows the code its own way: here one line, with the link that
// includes the code when the identity provider gives one.
func ExamplePromptFunc() {
	prompt := deviceflow.PromptFunc(func(ctx context.Context, p deviceflow.Prompt) error {
		uri := p.VerificationURIComplete
		if uri == "" {
			uri = p.VerificationURI
		}
		_, err := fmt.Fprintf(os.Stderr, "Open %s and check that it shows %s\n", uri, p.UserCode)
		return err
	})
	_, err := deviceflow.New("https://login.example.com/realms/dev", "awsoidc-cli", func(o *deviceflow.Options) {
		o.Prompt = prompt
		o.Interactive = true
	})
	if err != nil {
		log.Fatal(err)
	}
}

// A confidential client authenticates with its secret, which prints
// redacted wherever the Options are printed or logged.
func ExampleSecret() {
	opts := deviceflow.Options{ClientSecret: deviceflow.NewSecret("s3cr3t-value")}
	fmt.Printf("%v\n", opts.ClientSecret)
	// Output: [REDACTED]
}
