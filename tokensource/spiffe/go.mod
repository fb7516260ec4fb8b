module github.com/awsoidc/awsoidc/tokensource/spiffe

go 1.26.0

require github.com/awsoidc/awsoidc v0.0.0-00010101000000-000000000000

// Until the first release the SPIFFE source is built against the core module
// in this repository, as gopls is against golang.org/x/tools.
replace github.com/awsoidc/awsoidc => ../..
