package provider

// STSClientOf returns the client of p, for tests.
func STSClientOf(p *Provider) STSClient { return p.client }
