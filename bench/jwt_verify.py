"""CPU cost of verifying one Cognito-style access token with python-jose RS256 (docs/AUTH.md).

This is the work a Lambda authorizer would add to every request its cache does not answer.
Run: ``.venv/bin/python bench/jwt_verify.py``
"""

from __future__ import annotations

import timeit
from collections.abc import Callable

from jose import jwk, jwt

from lambdas.oauth.request import TokenRequest
from local.authorizer import JwtAuthorizer
from local.issuer import LocalIssuer

ISSUER = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_bench"
RUNS = 2000


def per_call_microseconds(statement: Callable[[], object]) -> float:
    return min(timeit.repeat(statement, number=RUNS, repeat=5)) / RUNS * 1e6


def main() -> None:
    issuer = LocalIssuer(ISSUER, {"bench-client": "bench-secret"})
    token = issuer.issue(TokenRequest("bench-client", "bench-secret", None))["access_token"]
    jwks = issuer.jwks()
    key = jwk.construct(jwks["keys"][0], algorithm="RS256")
    authorizer = JwtAuthorizer(issuer=ISSUER, jwks=lambda: jwks, allowed_client_ids=lambda: ["bench-client"])

    decode_only = per_call_microseconds(lambda: jwt.decode(token, key, algorithms=["RS256"]))
    full_check = per_call_microseconds(lambda: authorizer.authorize(f"Bearer {token}", ["rostering/import"]))
    print(f"jwt.decode RS256, key prebuilt:           {decode_only:6.0f} µs per token (best of 5 x {RUNS})")
    print(f"full check (kid lookup, JWK, claims):      {full_check:6.0f} µs per token (best of 5 x {RUNS})")


if __name__ == "__main__":
    main()
