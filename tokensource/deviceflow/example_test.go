package deviceflow_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"

	"github.com/awsoidc/awsoidc/tokensource/deviceflow"
)

// A command-line program signs the user in once; later runs, and other
// processes, renew the ID token silently with the stored refresh token.
func ExampleNew() {
	src, err := deviceflow.New("https://login.example.com/realms/dev", "awsoidc-cli", func(o *deviceflow.Options) {
		o.Interactive = true // prompt on stderr when no refresh token works
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

// A program that must never prompt (a credential_process helper) reports
// that the user has to log in first.
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

// Login forces a new device login, for an "awsoidc login" command, and
// tells a denied request from an expired code.
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

// A custom Prompter shows the code its own way.
func ExamplePromptFunc() {
	prompt := deviceflow.PromptFunc(func(ctx context.Context, p deviceflow.Prompt) error {
		_, err := fmt.Fprintf(os.Stderr, "Go to %s and enter %s\n", p.VerificationURI, p.UserCode)
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
