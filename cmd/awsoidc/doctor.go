package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/awsoidc/awsoidc/tokensource"
)

// Statuses of a doctor check. A warning does not stop the checks nor fail
// the command.
const (
	statusOK   = "ok"
	statusWarn = "warn"
	statusFail = "fail"
)

// checkResult is the outcome of one doctor check, as --format json prints
// it. Detail and Hint never hold a secret: they pass through the run's
// scrubber before they are printed.
type checkResult struct {
	Check  string `json:"check"`
	Status string `json:"status"`
	Detail string `json:"detail"`
	Hint   string `json:"hint"`
}

// doctor is one run of "awsoidc doctor": the resolved flags and what each
// check learnt for the next ones.
type doctor struct {
	a      *app
	flags  *pflag.FlagSet
	cfg    *credConfig
	client *http.Client // discovery, JWKS and the STS clock

	tok      tokensource.Token // secret: never printed
	claims   tokenClaims
	isJWT    bool
	endpoint string // the STS endpoint URL the credential commands call
	sess     *session
	creds    aws.Credentials // secret
}

// doctorCheck is one check: it returns its result, whose status decides
// whether the next check runs.
type doctorCheck struct {
	name string
	run  func(ctx context.Context) checkResult
}

func (a *app) doctorCommand() *cobra.Command {
	var (
		f      credFlags
		format string
	)
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check, step by step, why credentials can or cannot be had, and say what to do",
		Long: `doctor takes the flags of credential-process and checks, in order: the token
source, the token's claims, the issuer's keys and the token's signature, the STS
endpoint and clock, AssumeRoleWithWebIdentity (a real call, nothing stored),
GetCallerIdentity and the credentials store. It stops at the first failure with
what to do. Exit status 0 when every check passed (warnings allowed), else 1.`,
		Example: `  awsoidc doctor --role-arn arn:aws:iam::123456789012:role/ci --token-file /var/run/secrets/token

  # For scripts: an array of {check, status, detail, hint}.
  awsoidc doctor --format json --role-arn arn:aws:iam::123456789012:role/ci --token-env CI_JOB_JWT_V2`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "human" && format != "json" {
				return &flagError{Flag: "--format", Value: format, Rule: "must be human or json"}
			}
			cfg, err := f.resolve(cmd.Flags(), a.getenv)
			if err != nil {
				return err
			}
			d := &doctor{a: a, flags: cmd.Flags(), cfg: cfg, client: &http.Client{Transport: http.DefaultTransport}}
			defer d.close()
			results := d.run(cmd.Context())
			if err := d.print(a.stdout, format, results); err != nil {
				return err
			}
			if last := results[len(results)-1]; last.Status == statusFail {
				return fmt.Errorf("doctor: check %q failed", last.Check)
			}
			if err := cmd.Context().Err(); err != nil {
				return fmt.Errorf("doctor: interrupted after check %q: %w", results[len(results)-1].Check, err)
			}
			return nil
		},
	}
	f.register(cmd.Flags())
	cmd.Flags().StringVar(&format, "format", "human", "output format: human (one line per check) or json")
	return cmd
}

// checks returns the checks in the order they run.
func (d *doctor) checks() []doctorCheck {
	return []doctorCheck{
		{"token-source", d.checkTokenSource},
		{"token-claims", d.checkClaims},
		{"issuer-keys", d.checkIssuerKeys},
		{"sts-endpoint", d.checkEndpoint},
		{"sts-clock", d.checkClock},
		{"assume-role", d.checkAssumeRole},
		{"caller-identity", d.checkCallerIdentity},
		{"credentials-store", d.checkStore},
	}
}

// run runs the checks in order, each within --timeout, and stops after the
// first that fails. Every result is scrubbed of the run's secrets.
func (d *doctor) run(ctx context.Context) []checkResult {
	var results []checkResult
	for _, c := range d.checks() {
		// Each check within --timeout, and never longer than the default:
		// doctor never prompts, so --allow-prompt's 15 minutes do not apply.
		cctx, cancel := context.WithTimeout(ctx, min(d.cfg.timeout, defaultTimeout))
		r := c.run(cctx)
		cancel()
		r.Check = c.name
		r.Detail = d.a.secrets.scrub(r.Detail)
		r.Hint = d.a.secrets.scrub(r.Hint)
		results = append(results, r)
		if r.Status == statusFail || ctx.Err() != nil {
			break
		}
	}
	return results
}

func (d *doctor) close() {
	if d.sess != nil {
		d.sess.close()
	}
	d.client.CloseIdleConnections()
}

// print writes results as format: "human", one line per check and the hint
// indented below it, or "json", an array of checkResult.
func (d *doctor) print(w io.Writer, format string, results []checkResult) error {
	if format == "json" {
		b, err := json.MarshalIndent(results, "", "  ")
		if err != nil {
			return err
		}
		_, err = w.Write(append(b, '\n'))
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, r := range results {
		status := r.Status
		if status == statusFail {
			status = "FAIL"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", status, r.Check, singleLine(r.Detail))
		if r.Hint != "" {
			fmt.Fprintf(tw, "\t\t→ %s\n", singleLine(r.Hint))
		}
	}
	return tw.Flush()
}

// singleLine joins the lines of s, so that each check stays one line.
func singleLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// checkOK, checkWarn and checkFail build results.
func checkOK(format string, args ...any) checkResult {
	return checkResult{Status: statusOK, Detail: fmt.Sprintf(format, args...)}
}

func checkWarn(detail, hint string) checkResult {
	return checkResult{Status: statusWarn, Detail: detail, Hint: hint}
}

func checkFail(detail, hint string) checkResult {
	return checkResult{Status: statusFail, Detail: detail, Hint: hint}
}

// doctorWhen says how long ago t was at now ("3m0s ago") or how long until it
// comes ("in 3m0s"), rounded for people.
func doctorWhen(t, now time.Time) string {
	if d := now.Sub(t); d >= 0 {
		return roundDuration(d).String() + " ago"
	}
	return "in " + roundDuration(t.Sub(now)).String()
}
