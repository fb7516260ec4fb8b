package tokensource

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// The variables [Detect] reads besides those of the sources it returns.
const (
	envAWSTokenFile   = "AWS_WEB_IDENTITY_TOKEN_FILE" //nolint:gosec // G101: a variable name, not a credential
	envAzureTokenFile = "AZURE_FEDERATED_TOKEN_FILE"  //nolint:gosec // G101: a variable name, not a credential
)

// Probes of [Detect].
const (
	defaultProbeTimeout = 500 * time.Millisecond
	azureInstanceURL    = "http://169.254.169.254/metadata/instance?api-version=2021-02-01"
	maxProbeBody        = 64 << 10
)

// DetectOptions configures [Detect].
type DetectOptions struct {
	// HTTPOptions configures the HTTP source that Detect returns; its
	// Client also sends the metadata probes.
	HTTPOptions
	// Logger receives, at debug level, the source picked and why, and why
	// each source before it was passed over. Nil means no log. No line
	// holds a token or the value of a secret variable.
	Logger *slog.Logger
	// ProbeTimeout bounds the probes of the metadata servers of Google
	// Cloud and Azure, which run together: off those clouds, Detect returns
	// at most this long after reaching them. Zero or less means 500 ms; a
	// metadata server answers from the same host in a few milliseconds.
	ProbeTimeout time.Duration
}

// Detect returns the token source of the environment the program runs in,
// and its name, trying in this order:
//
//  1. "file": AWS_WEB_IDENTITY_TOKEN_FILE is set (EKS IRSA, or anyone who
//     configured the SDK's own variable): [File] of it. The explicit AWS
//     setting wins over any ambient identity.
//  2. "github-actions": ACTIONS_ID_TOKEN_REQUEST_URL and
//     ACTIONS_ID_TOKEN_REQUEST_TOKEN are set: [GitHubActions]. Before the
//     clouds, because a self-hosted runner on a cloud machine means the
//     job's identity, not the machine's.
//  3. "azure-workload-identity": AZURE_FEDERATED_TOKEN_FILE is set (AKS
//     workload identity): [File] of it. Set only in the pods that opted in,
//     so it beats the node's own identity.
//  4. "azure-app-service": IDENTITY_ENDPOINT and IDENTITY_HEADER are set
//     (App Service, Functions, Container Apps): [Azure].
//  5. "gcp": GCE_METADATA_HOST is set, or the metadata server at
//     169.254.169.254 answers with the header "Metadata-Flavor: Google":
//     [GCP].
//  6. "azure-imds": the Azure Instance Metadata Service answers its
//     instance endpoint with the header "Metadata: true": [Azure].
//
// The probes of 5 and 6 run together, bounded by
// [DetectOptions].ProbeTimeout, and only when 1 to 4 found nothing; the
// variables are read, never the token: Detect fetches no token. audience
// is the audience of the returned [GitHubActions] or [GCP] source and the
// resource of an [Azure] one; "" means each source's default
// ("sts.amazonaws.com", "api://AzureADTokenExchange"). A token file's
// audience is set by whoever writes it, and audience does not apply.
//
// SPIFFE (module github.com/awsoidc/awsoidc/tokensource/spiffe), [Exec],
// [Env] (GitLab CI's id_tokens, CircleCI's CIRCLE_OIDC_TOKEN_V2) are not
// detected: a caller that wants them checks for them first (the awsoidc
// command takes SPIFFE_ENDPOINT_SOCKET before calling Detect).
//
// When nothing is found, Detect returns an [*Error] with Source "detect"
// that lists what it tried; when ctx ends first, an error wrapping
// ctx.Err().
func Detect(ctx context.Context, audience string, optFns ...func(*DetectOptions)) (src Source, name string, err error) {
	var o DetectOptions
	for _, fn := range optFns {
		fn(&o)
	}
	if o.ProbeTimeout <= 0 {
		o.ProbeTimeout = defaultProbeTimeout
	}
	d := &detector{opts: o, log: o.Logger}
	if err := ctx.Err(); err != nil {
		return nil, "", &Error{Source: "detect", Err: err}
	}
	httpOpts := func(h *HTTPOptions) { *h = o.HTTPOptions }

	if p := os.Getenv(envAWSTokenFile); p != "" {
		return d.pick(ctx, File(p), "file", envAWSTokenFile+" is set")
	}
	d.pass(ctx, "file", envAWSTokenFile+" is not set")

	switch ghURL, ghTok := os.Getenv(envGitHubRequestURL), os.Getenv(envGitHubRequestToken); {
	case ghURL != "" && ghTok != "":
		return d.pick(ctx, GitHubActions(audience, httpOpts), "github-actions", envGitHubRequestURL+" and "+envGitHubRequestToken+" are set")
	case ghURL != "":
		d.pass(ctx, "github-actions", envGitHubRequestToken+" is not set (the job lacks the permission id-token: write)")
	default:
		d.pass(ctx, "github-actions", envGitHubRequestURL+" is not set")
	}

	if p := os.Getenv(envAzureTokenFile); p != "" {
		return d.pick(ctx, File(p), "azure-workload-identity", envAzureTokenFile+" is set")
	}
	d.pass(ctx, "azure-workload-identity", envAzureTokenFile+" is not set")

	if os.Getenv(envIdentityEndpoint) != "" && os.Getenv(envIdentityHeader) != "" {
		return d.pick(ctx, Azure(audience, httpOpts), "azure-app-service", envIdentityEndpoint+" and "+envIdentityHeader+" are set")
	}
	d.pass(ctx, "azure-app-service", envIdentityEndpoint+" and "+envIdentityHeader+" are not both set")

	if h := strings.TrimSpace(os.Getenv(envGCEMetadataHost)); h != "" {
		return d.pick(ctx, GCP(audience, httpOpts), "gcp", envGCEMetadataHost+" is set")
	}
	gcpWhy, azureWhy := d.probe(ctx)
	if err := ctx.Err(); err != nil {
		return nil, "", &Error{Source: "detect", Err: err}
	}
	if gcpWhy == "" {
		return d.pick(ctx, GCP(audience, httpOpts), "gcp", "the Google metadata server answered")
	}
	d.pass(ctx, "gcp", gcpWhy)
	if azureWhy == "" {
		return d.pick(ctx, Azure(audience, httpOpts), "azure-imds", "the Azure Instance Metadata Service answered")
	}
	d.pass(ctx, "azure-imds", azureWhy)
	return nil, "", &Error{Source: "detect", Err: fmt.Errorf("%w: %s", errNotDetected, strings.Join(d.tried, "; "))}
}

// errNotDetected is the cause of Detect's error when no source is found.
var errNotDetected = errors.New("no ambient token source")

// detector holds what one Detect call has learned.
type detector struct {
	opts  DetectOptions
	log   *slog.Logger
	tried []string // why each source was passed over, in order
}

func (d *detector) pick(ctx context.Context, src Source, name, why string) (Source, string, error) {
	if d.log != nil {
		d.log.DebugContext(ctx, "tokensource: detected a token source", "source", name, "reason", why)
	}
	return src, name, nil
}

func (d *detector) pass(ctx context.Context, name, why string) {
	d.tried = append(d.tried, name+": "+why)
	if d.log != nil {
		d.log.DebugContext(ctx, "tokensource: token source not detected", "source", name, "reason", why)
	}
}

// probe asks both metadata servers at once, within ProbeTimeout, and
// returns why each is not there: "" for one that answered.
func (d *detector) probe(ctx context.Context) (gcpWhy, azureWhy string) {
	ctx, cancel := context.WithTimeout(ctx, d.opts.ProbeTimeout)
	defer cancel()
	client := d.opts.Client
	if client == nil {
		client = defaultHTTPClient(false)
	}
	c := *client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	gcp := make(chan string, 1)
	go func() {
		gcp <- d.probeOne(ctx, &c, "http://"+gceMetadataIP+"/", "Metadata-Flavor", "Google", func(resp *http.Response, _ []byte) bool {
			return resp.Header.Get("Metadata-Flavor") == "Google"
		})
	}()
	azureWhy = d.probeOne(ctx, &c, azureInstanceURL, "Metadata", "true", func(resp *http.Response, body []byte) bool {
		var v struct {
			Compute json.RawMessage `json:"compute"`
		}
		return resp.StatusCode == http.StatusOK && json.Unmarshal(body, &v) == nil && len(v.Compute) > 0 && v.Compute[0] == '{'
	})
	return <-gcp, azureWhy
}

// probeOne sends one GET with one header and returns "" when ok says the
// answer is the expected server's, else why not.
func (d *detector) probeOne(ctx context.Context, c *http.Client, rawURL, header, value string, ok func(*http.Response, []byte) bool) string {
	u, _ := url.Parse(rawURL)
	where := u.Scheme + "://" + u.Host
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return err.Error()
	}
	req.Header.Set(header, value)
	resp, err := c.Do(req) //nolint:gosec // G107/G704: a fixed link-local metadata URL
	if err != nil {
		if ctx.Err() != nil {
			return "no answer from " + where + " within " + d.opts.ProbeTimeout.String()
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return "no answer from " + where + " (" + err.Error() + ")"
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxProbeBody))
	if !ok(resp, body) {
		return where + " answered " + resp.Status + " but is not that metadata server"
	}
	return ""
}
