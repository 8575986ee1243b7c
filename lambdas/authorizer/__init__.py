"""The Lambda REQUEST authorizer: verifies Cognito access tokens as the HTTP API JWT authorizer
does, and accepts only clients registered by the tenant command (see docs/AUTH.md)."""
