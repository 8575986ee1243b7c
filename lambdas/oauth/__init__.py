"""OAuth 2.0 client-credentials token requests: form parsing, client authentication, forwarding to Cognito."""
