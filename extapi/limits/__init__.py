"""Rate limiting: complexity points per minute, per API client and for the whole site."""
