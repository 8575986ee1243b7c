"""The local stack: AWS from moto, a Cognito-compatible token issuer, and an API Gateway emulator
that invokes the real handlers with real events. It imports ``lambdas``; never the reverse."""
