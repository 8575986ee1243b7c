"""Property-based attacks on the token route: whatever form parts arrive (charsets Python cannot
decode with, odd headers, file parts, binary values, broken structure), the real handler answers
a token or an RFC 6749 error as JSON, never a 500 and never an exception."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from lambdas.handlers import token as handler
from local.issuer import LocalIssuer
from testkit.apigw import response_json
from tests.auth_fixtures import BOUNDARY, CLIENT_ID, CLIENT_SECRET, CLIENTS, ISSUER_URL, FakeCognito, basic, token_event

ANSWERS = {
    (400, "invalid_request"),
    (400, "unsupported_grant_type"),
    (400, "invalid_scope"),
    (401, "invalid_client"),
}
EXAMPLES = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"


@pytest.fixture
def cognito(monkeypatch: pytest.MonkeyPatch) -> FakeCognito:
    fake = FakeCognito(LocalIssuer(ISSUER_URL, CLIENTS))
    monkeypatch.setattr(handler, "endpoint", fake.endpoint())
    return fake


def answer(body: bytes, content_type: str, authorization: str | None, lambda_context: Any) -> tuple[int, Any]:
    response = handler.lambda_handler(
        token_event(body, content_type=content_type, authorization=authorization), lambda_context
    )
    assert response["headers"]["Content-Type"].startswith("application/json"), response
    assert response["headers"]["Cache-Control"] == "no-store"
    return response["statusCode"], response_json(response)


def assert_allowed(status: int, body: Any) -> None:
    if status == 200:
        assert body["token_type"] == "Bearer" and body["access_token"]
    else:
        assert (status, body.get("error")) in ANSWERS, (status, body)


FIELDS = {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
names = st.sampled_from([*FIELDS, "scope", "", "x", 'q"uote', "é", "grant_type\r\nX: y"])
values = st.one_of(
    st.sampled_from([*FIELDS.values(), "rostering", "rostering/read", "openid", ""]).map(str.encode),
    st.binary(max_size=80),
    st.text(max_size=40).map(lambda text: text.encode("utf-8", "surrogatepass")),
)
charsets = st.sampled_from(
    ["utf-8", "UTF8", "latin-1", "utf-16", "utf-32", "bogus", "rot13", "base64", "zlib", "idna", "x" * 300, ""]
)
extra_headers = st.lists(
    st.one_of(
        st.builds(lambda c: f"Content-Type: text/plain; charset={c}", charsets),
        st.sampled_from(
            [
                "Content-Type: application/octet-stream",
                "Content-Type: text/plain; charset",
                'Content-Type: text/plain; charset="utf-8',
                "Content-Transfer-Encoding: base64",
                "Content-Transfer-Encoding: quoted-printable",
                "X-Header-Without-Value",
                " folded continuation",
                "Content-Length: -1",
            ]
        ),
    ),
    max_size=3,
)


@st.composite
def hostile_parts(draw: st.DrawFn) -> bytes:
    """A multipart/form-data body of 0-8 parts with hostile names, headers and values."""
    body = bytearray()
    for _ in range(draw(st.integers(min_value=0, max_value=8))):
        name = draw(names)
        disposition = f'form-data; name="{name}"'
        if draw(st.integers(min_value=0, max_value=5)) == 0:
            disposition += f'; filename="{draw(st.sampled_from(["a.txt", "", "../x", "é.csv"]))}"'
        headers = [f"Content-Disposition: {disposition}", *draw(extra_headers)]
        if draw(st.integers(min_value=0, max_value=5)) == 0:
            headers = draw(st.permutations(headers))
        head = "\r\n".join(headers).encode("utf-8", "surrogatepass")
        if draw(st.integers(min_value=0, max_value=9)) == 0:
            head += draw(st.binary(min_size=1, max_size=8))  # raw bytes in the part header
        body += f"--{BOUNDARY}\r\n".encode() + head + b"\r\n\r\n" + draw(values) + b"\r\n"
    body += draw(st.sampled_from([f"--{BOUNDARY}--\r\n".encode(), b"", b"--", f"--{BOUNDARY}".encode()]))
    return bytes(body)


CHARSET_BOGUS = (
    f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="grant_type"\r\n'
    f"Content-Type: text/plain; charset=bogus\r\n\r\nclient_credentials\r\n--{BOUNDARY}--\r\n"
).encode()


@EXAMPLES
@given(
    body=hostile_parts(),
    authorization=st.sampled_from([None, basic(CLIENT_ID, CLIENT_SECRET), "Basic !!!", "Bearer x"]),
)
@example(body=CHARSET_BOGUS, authorization=basic(CLIENT_ID, CLIENT_SECRET))
def test_hostile_form_parts_are_answered_as_rfc6749_json(cognito, lambda_context, body, authorization):
    assert_allowed(*answer(body, MULTIPART, authorization, lambda_context))


@EXAMPLES
@given(
    body=st.binary(max_size=600),
    content_type=st.sampled_from(
        [
            MULTIPART,
            "multipart/form-data",
            "multipart/form-data; boundary=",
            "multipart/form-data; boundary=" + "b" * 200,
            "application/x-www-form-urlencoded",
            "application/x-www-form-urlencoded; charset=bogus",
            "text/plain",
        ]
    ),
)
def test_arbitrary_bytes_are_answered_as_rfc6749_json(cognito, lambda_context, body, content_type):
    assert_allowed(*answer(body, content_type, None, lambda_context))


def test_charset_bogus_part_is_400_invalid_request(cognito, lambda_context):
    status, body = answer(CHARSET_BOGUS, MULTIPART, basic(CLIENT_ID, CLIENT_SECRET), lambda_context)
    assert (status, body) == (400, {"error": "invalid_request"})
