package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/awsoidc/awsoidc/provider"
)

// skewWarn is the clock difference with STS worth a warning: the SDKs'
// SigV4 signatures are refused past 5 minutes, and the token's exp and nbf
// are judged on STS's clock.
const skewWarn = 30 * time.Second

// stsClient returns an STS client built as the credential commands build
// theirs (see newSession), with creds as its credentials (anonymous when
// nil).
func (d *doctor) stsClient(creds aws.CredentialsProvider) *sts.Client {
	return newSTSClient(d.cfg, creds)
}

// resolveEndpoint returns the URL o's endpoint resolver gives for o, with
// FIPS and dual-stack as given.
func resolveEndpoint(ctx context.Context, o sts.Options, fips, dualStack bool) (string, error) {
	p := sts.EndpointParameters{
		Region:       aws.String(o.Region),
		Endpoint:     o.BaseEndpoint,
		UseFIPS:      aws.Bool(fips),
		UseDualStack: aws.Bool(dualStack),
	}.WithDefaults()
	ep, err := o.EndpointResolverV2.ResolveEndpoint(ctx, p)
	if err != nil {
		return "", err
	}
	return ep.URI.String(), nil
}

// regionPartition returns the partition of an AWS region name.
func regionPartition(region string) string {
	for _, p := range []struct{ prefix, partition string }{
		{"cn-", "aws-cn"}, {"us-gov-", "aws-us-gov"}, {"us-isob-", "aws-iso-b"}, {"us-iso-", "aws-iso"}, {"eusc-", "aws-eusc"},
	} {
		if strings.HasPrefix(region, p.prefix) {
			return p.partition
		}
	}
	return "aws"
}

// arnField returns field i of an ARN (1: partition, 4: account), or "".
func arnField(arn string, i int) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 {
		return ""
	}
	return parts[i]
}

// checkEndpoint reports the STS endpoint the credential commands call: its
// URL, region, partition, and the FIPS or dual-stack endpoints the
// environment asks for.
func (d *doctor) checkEndpoint(ctx context.Context) checkResult {
	cfg := d.cfg
	o := d.stsClient(nil).Options()
	var asked []string
	if cfg.fips && cfg.endpoint == "" {
		asked = append(asked, envUseFIPS+"=true")
	}
	if cfg.dualStack && cfg.endpoint == "" {
		asked = append(asked, envUseDualStack+"=true")
	}
	ep, err := resolveEndpoint(ctx, o, cfg.fips && cfg.endpoint == "", cfg.dualStack && cfg.endpoint == "")
	if err != nil {
		if len(asked) > 0 {
			return checkFail("resolving the STS endpoint of region "+cfg.region+" with "+strings.Join(asked, " and ")+": "+err.Error(), "region "+cfg.region+" has no such STS endpoint: unset the variable or choose another --region")
		}
		return checkFail("resolving the STS endpoint of region "+cfg.region+": "+err.Error(), "give a valid --region, or --endpoint-url")
	}
	d.endpoint = ep
	regionFrom := "the default of the role's partition"
	if o := cfg.origin["region"]; o != "--region" || d.flags.Changed("region") {
		regionFrom = o
	}
	detail := fmt.Sprintf("%s, region %s (from %s)", ep, cfg.region, regionFrom)
	rolePartition := arnField(cfg.roleARN, 1)
	if cfg.endpoint != "" {
		detail = fmt.Sprintf("%s (custom, from %s), region %s", ep, cfg.origin["endpoint-url"], cfg.region)
		if u, err := url.Parse(ep); err == nil && u.Scheme == "http" && !isLoopbackHost(u.Hostname()) {
			return checkWarn(detail, "the endpoint is plain http: the token and the credentials cross the network unencrypted; use https")
		}
		return checkOK("%s", detail)
	}
	detail += ", partition " + regionPartition(cfg.region)
	if p := regionPartition(cfg.region); rolePartition != "" && strings.HasPrefix(rolePartition, "aws") && p != rolePartition {
		return checkFail(detail+", but the role is in partition "+rolePartition,
			fmt.Sprintf("STS of one partition cannot assume roles of another: give --region of partition %s (e.g. --region %s), or unset the region variables", rolePartition, defaultRegionOf(rolePartition)))
	}
	if len(asked) > 0 {
		detail += " (" + strings.Join(asked, " and ") + ")"
	}
	return checkOK("%s", detail)
}

// defaultRegionOf returns the usual STS region of a partition.
func defaultRegionOf(partition string) string {
	switch partition {
	case "aws-cn":
		return "cn-north-1"
	case "aws-us-gov":
		return "us-gov-west-1"
	case "aws-iso":
		return "us-iso-east-1"
	case "aws-iso-b":
		return "us-isob-east-1"
	}
	return "us-east-1"
}

// checkClock compares STS's clock, the Date header of its answer to a plain
// GET, with the local clock.
func (d *doctor) checkClock(ctx context.Context) checkResult {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.endpoint, nil)
	if err != nil {
		return checkFail(err.Error(), "give a valid --endpoint-url")
	}
	sent := d.a.now()
	resp, err := d.client.Do(req)
	if err != nil {
		return checkFail("STS at "+d.endpoint+" does not answer: "+err.Error(),
			"check the network path to STS (firewall, HTTPS_PROXY / NO_PROXY), the region, and --endpoint-url")
	}
	_ = resp.Body.Close()
	received := d.a.now()
	date, err := http.ParseTime(resp.Header.Get("Date"))
	if err != nil {
		return checkWarn("STS's answer has no Date header: its clock is unknown", "a proxy may be rewriting the answers")
	}
	// Date has whole seconds: compare with the middle of the exchange,
	// less half a second.
	local := sent.Add(received.Sub(sent) / 2)
	skew := date.Add(500 * time.Millisecond).Sub(local).Round(time.Second)
	detail := fmt.Sprintf("STS's clock (Date %s) is %s this machine's", date.UTC().Format(time.RFC3339), skewWords(skew))
	if skew > skewWarn || skew < -skewWarn {
		return checkWarn(detail, "synchronize this machine's clock (NTP, chrony, w32time): awsoidc corrects the credentials' expiry, but "+
			"the token's exp and nbf are judged on STS's clock, and SDKs that sign requests are refused past 5 minutes")
	}
	return checkOK("%s", detail)
}

// skewWords says how STS's clock stands to ours.
func skewWords(skew time.Duration) string {
	switch {
	case skew == 0:
		return "within a second of"
	case skew > 0:
		return skew.String() + " ahead of"
	default:
		return (-skew).String() + " behind"
	}
}

// checkAssumeRole calls AssumeRoleWithWebIdentity once, storing nothing,
// and on a refusal says what to compare in the role's trust policy.
func (d *doctor) checkAssumeRole(ctx context.Context) checkResult {
	cfg := *d.cfg
	cfg.noCache = true
	s, err := d.a.newSession(ctx, &cfg)
	if err != nil {
		return checkFail(err.Error(), "fix the flag or the token source it names")
	}
	d.sess = s
	creds, err := d.a.fetch(ctx, s, d.cfg.timeout)
	if err != nil {
		return checkFail(err.Error(), d.assumeHint(err))
	}
	d.creds = creds
	md, _ := s.prov.LastMetadata()
	detail := fmt.Sprintf("%s, session %s, expires %s, request ID %s", md.AssumedRoleARN, md.RoleSessionName, doctorWhen(creds.Expires, d.a.now()), md.RequestID)
	if md.SourceIdentity != "" {
		detail += ", source identity " + md.SourceIdentity
	}
	if md.ClockSkew != 0 {
		detail += fmt.Sprintf(", expiry corrected for STS's clock being %s ours", skewWords(md.ClockSkew.Round(time.Second)))
	}
	return checkOK("%s", detail)
}

// assumeHint says what to do about a failed AssumeRoleWithWebIdentity.
func (d *doctor) assumeHint(err error) string {
	var re *provider.RetrieveError
	if !errors.As(err, &re) {
		return "see the error"
	}
	c := d.claims
	switch re.Code {
	case "AccessDenied", "AccessDeniedException", "IDPRejectedClaim", "InvalidIdentityToken":
		if re.Class == provider.ClassTransient {
			return "STS could not fetch " + c.iss + "'s keys: make its discovery document and jwks_uri reachable from the internet, then retry"
		}
		if !d.isJWT {
			return "check the role's trust policy allows sts:AssumeRoleWithWebIdentity for the provider " + d.cfg.opts.ProviderID
		}
		invalid := re.Code == "InvalidIdentityToken"
		return trustPolicyHint(c, d.cfg.roleARN, invalid && strings.Contains(err.Error(), "No OpenIDConnect provider"), invalid && strings.Contains(err.Error(), "Incorrect token audience"))
	case "ExpiredTokenException":
		return "the token expired (exp " + c.exp.UTC().Format(time.RFC3339) + "): whatever writes it (the kubelet, a CI step, a login) must renew it, and this machine's clock must be right"
	case "RegionDisabledException":
		return "activate STS in region " + d.cfg.region + " (IAM account settings), or give another --region"
	case "IDPCommunicationError":
		return "STS could not reach " + c.iss + ": its discovery document and JWKS must be reachable from the internet over https; retry later"
	}
	if re.Class == provider.ClassTransient {
		return "STS failed or did not answer: retry later (https://health.aws.amazon.com), or give another --region"
	}
	return "fix what the error names"
}

// trustPolicyHint names what to compare in the role's trust policy with
// the token: the IAM OIDC provider and the condition keys in the exact form
// IAM writes them.
func trustPolicyHint(c tokenClaims, roleARN string, noProvider, audience bool) string {
	host := strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(c.iss, "https://"), "http://"), "/")
	providerARN := "arn:" + arnField(roleARN, 1) + ":iam::" + arnField(roleARN, 4) + ":oidc-provider/" + host
	aud := strings.Join(c.aud, `" or "`)
	switch {
	case noProvider:
		return fmt.Sprintf("create an IAM OIDC provider with URL %s and audience %q in account %s (its ARN: %s)", c.iss, aud, arnField(roleARN, 4), providerARN)
	case audience:
		return fmt.Sprintf("add %q to the audiences (client IDs) of the IAM OIDC provider %s, and to the role's %s:aud condition", aud, providerARN, host)
	}
	amr := ""
	if len(c.amr) > 0 {
		amr = fmt.Sprintf(`, "%s:amr" against %q`, host, strings.Join(c.amr, `" or "`))
	}
	return fmt.Sprintf(`compare the trust policy of %s with the token: Principal.Federated must be %s (the IAM OIDC provider whose URL is the token's iss %s), `+
		`Action sts:AssumeRoleWithWebIdentity, and the conditions must match the token: "%s:aud" against %q, "%s:sub" against %q%s (StringEquals is exact; StringLike takes * and ?)`,
		roleARN, providerARN, c.iss, host, aud, host, c.sub, amr)
}

// checkCallerIdentity calls GetCallerIdentity signed with the new
// credentials.
func (d *doctor) checkCallerIdentity(ctx context.Context) checkResult {
	creds := d.creds
	client := d.stsClient(aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return creds, nil }))
	out, err := client.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return checkFail("GetCallerIdentity: "+err.Error(), "STS issued the credentials but refuses them: check the clock (sts-clock) and that --endpoint-url is STS itself")
	}
	detail := fmt.Sprintf("%s, account %s", aws.ToString(out.Arn), aws.ToString(out.Account))
	if want := arnField(d.cfg.roleARN, 4); want != "" && aws.ToString(out.Account) != want {
		return checkWarn(detail, "the credentials belong to account "+aws.ToString(out.Account)+", not the role's "+want)
	}
	return checkOK("%s", detail)
}
