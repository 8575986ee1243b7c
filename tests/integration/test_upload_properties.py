"""Property-based attacks on the upload route: whatever arrives, the real handler answers 200 or a
4xx of SPEC section 4, never a 500 and never an exception, and a refused request stores nothing."""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from lambdas.handlers import upload as handler
from lambdas.intake.objects import ObjectStore
from lambdas.intake.service import IntakeService
from lambdas.jobs.store import JobStore
from local.resources import create_bucket, create_tables
from testkit.apigw import http_event, response_json
from testkit.context import FakeLambdaContext

REFUSALS = {
    (400, "MALFORMED_REQUEST"),
    (400, "MISSING_FILE"),
    (400, "EMPTY_FILE"),
    (413, "FILE_TOO_LARGE"),
    (415, "INVALID_FILE_TYPE"),
    (409, "IDEMPOTENCY_CONFLICT"),
}
BOUNDARY = "qqBOUNDARYqq"
EXAMPLES = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def stores() -> Iterator[dict[str, Any]]:
    with mock_aws():
        s3, dynamodb = boto3.client("s3"), boto3.resource("dynamodb")
        create_bucket(s3, handler.settings)
        create_tables(dynamodb.meta.client, handler.settings)
        service = IntakeService(
            handler.settings,
            jobs=JobStore(handler.settings.jobs_table, resource=dynamodb),
            objects=ObjectStore(handler.settings.bucket_name, client=s3),
            idempotency_client=dynamodb.meta.client,
        )
        previous, handler.service = handler.service, lambda: service
        yield {"s3": s3, "dynamodb": dynamodb}
        handler.service = previous


def stored(stores: dict[str, Any]) -> tuple[int, int]:
    """(objects in the bucket, job records): a refused request must change neither."""
    pages = stores["s3"].get_paginator("list_objects_v2").paginate(Bucket=handler.settings.bucket_name)
    objects = sum(page.get("KeyCount", 0) for page in pages)  # a fuzz run stores more than one page
    jobs = stores["dynamodb"].Table(handler.settings.jobs_table).scan(Select="COUNT")["Count"]
    return objects, jobs


def answer(stores: dict[str, Any], body: bytes, content_type: str) -> tuple[int, Any]:
    before = stored(stores)
    event = http_event("POST", "/api/v1/upload", body=body, headers={"content-type": content_type})
    response = handler.lambda_handler(event, FakeLambdaContext())
    status = response["statusCode"]
    after = stored(stores)
    assert after == (before if status != 200 else (before[0] + 1, before[1] + 1)), (status, before, after)
    return status, response_json(response)


def assert_allowed(status: int, body: Any) -> None:
    if status == 200:
        assert body["result"]["referenceId"]
    else:
        assert (status, body.get("code")) in REFUSALS, (status, body)


def part(name: str, data: bytes, filename: str | None = None, content_type: str | None = None) -> bytes:
    disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename is not None else "")
    head = f"Content-Disposition: {disposition}\r\n" + (f"Content-Type: {content_type}\r\n" if content_type else "")
    return f"--{BOUNDARY}\r\n{head}\r\n".encode() + data + b"\r\n"


def multipart(*parts: bytes) -> bytes:
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"
names = st.sampled_from(["file", "dryRun", "other", "", "FILE"])
filenames = st.one_of(st.none(), st.sampled_from(["u.csv", "u.csv.gz", "u.png", "", "../x.csv", 'q"uote.csv']))
part_types = st.one_of(st.none(), st.sampled_from(["text/csv", "application/gzip", "image/png", "text/plain"]))
csv_text = st.lists(
    st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12), min_size=1, max_size=5),
    max_size=6,
)


@EXAMPLES
@given(
    body=st.binary(max_size=3000), content_type=st.sampled_from([CONTENT_TYPE, "text/csv", "", "multipart/form-data"])
)
def test_arbitrary_bytes_are_answered_from_the_table(stores, body, content_type):
    assert_allowed(*answer(stores, body, content_type))


@EXAMPLES
@given(
    parts=st.lists(st.tuples(names, st.binary(max_size=300), filenames, part_types), max_size=6),
    tail=st.sampled_from([b"", b"garbage", b"\r\n", f"--{BOUNDARY}".encode()]),
)
def test_arbitrary_multipart_structures_are_answered_from_the_table(stores, parts, tail):
    body = multipart(*(part(*p) for p in parts)) + tail
    assert_allowed(*answer(stores, body, CONTENT_TYPE))


@EXAMPLES
@given(
    rows=csv_text,
    newline=st.sampled_from(["\n", "\r\n", "\r"]),
    bom=st.sampled_from(["", "\ufeff"]),
    mid_bom=st.booleans(),
)
def test_arbitrary_csv_text_is_accepted_or_refused_as_not_csv(stores, rows, newline, bom, mid_bom):
    text = bom + newline.join(",".join('"' + c.replace('"', '""') + '"' for c in row) for row in rows)
    if mid_bom:
        text = text[: len(text) // 2] + "\ufeff" + text[len(text) // 2 :]
    status, body = answer(stores, multipart(part("file", text.encode("utf-8"), "u.csv", "text/csv")), CONTENT_TYPE)
    assert_allowed(status, body)
    assert status == 200 or body["code"] in ("EMPTY_FILE", "INVALID_FILE_TYPE")


@EXAMPLES
@given(data=st.data())
def test_invalid_utf8_at_any_position_is_415(stores, data):
    content = bytearray(b"user_username,user_name\njdoe,John Doe\nasmith,Ann Smith\n")
    position = data.draw(st.integers(min_value=0, max_value=len(content) - 1))
    content[position] = data.draw(st.sampled_from([0x80, 0xC3, 0xFF, 0xFE, 0xED]))
    status, body = answer(stores, multipart(part("file", bytes(content), "u.csv", "text/csv")), CONTENT_TYPE)
    assert (status, body["code"]) == (415, "INVALID_FILE_TYPE")


def answer_upload_url(stores: dict[str, Any], body: str) -> tuple[int, Any]:
    before = stored(stores)
    event = http_event("POST", "/api/v1/upload/url", body=body, base64_body=False)
    response = handler.lambda_handler(event, FakeLambdaContext())
    status = response["statusCode"]
    assert stored(stores) == (before if status != 200 else (before[0], before[1] + 1))  # a job, no object yet
    return status, response_json(response)


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20)),
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(st.sampled_from(["fileName", "dryRun", "x"]), children)
    ),
    max_leaves=8,
)
NESTED = "[" * 200_000 + "]" * 200_000


@EXAMPLES
@given(
    body=st.one_of(
        st.text(max_size=200),
        json_values.map(json.dumps),
        st.integers(min_value=1, max_value=3_000).map(lambda depth: "[" * depth + "]" * depth),
        st.integers(min_value=1, max_value=3_000).map(lambda depth: '{"a":' * depth + "1" + "}" * depth),
    )
)
@example(body=NESTED)
def test_upload_url_bodies_are_answered_from_the_table(stores, body):
    status, answered = answer_upload_url(stores, body)
    if status == 200:
        assert answered["result"]["referenceId"]
    else:
        assert (status, answered.get("code")) in {(400, "MALFORMED_REQUEST"), (415, "INVALID_FILE_TYPE")}, answered


def test_upload_url_with_200000_nested_arrays_is_400_malformed(stores):
    status, answered = answer_upload_url(stores, NESTED)
    assert (status, answered["code"]) == (400, "MALFORMED_REQUEST")


def test_valid_body_truncated_at_every_offset_is_never_a_server_error(stores):
    body = multipart(
        part("dryRun", b"true"), part("file", gzip.compress(b"a,b\n1,2\n"), "u.csv.gz", "application/gzip")
    )
    for cut in range(len(body)):
        status, answered = answer(stores, body[:cut], CONTENT_TYPE)
        assert status != 200 or cut >= len(body) - 2, cut
        assert_allowed(status, answered)


def test_thousands_of_parts_are_malformed(stores):
    body = multipart(*(part(f"f{i}", b"x") for i in range(3000)), part("file", b"a\n", "u.csv"))
    assert answer(stores, body, CONTENT_TYPE)[1]["code"] == "MALFORMED_REQUEST"


def test_huge_part_header_is_malformed(stores):
    body = multipart(part("file", b"a\n", "u" * 20_000 + ".csv"))
    assert answer(stores, body, CONTENT_TYPE)[1]["code"] == "MALFORMED_REQUEST"


def test_base64_body_with_invalid_characters_is_malformed(stores):
    event = http_event("POST", "/api/v1/upload", body=b"x", headers={"content-type": CONTENT_TYPE})
    event["body"] = base64.b64encode(b"--x").decode() + "*&^%"
    response = handler.lambda_handler(event, FakeLambdaContext())
    assert (response["statusCode"], response_json(response)["code"]) == (400, "MALFORMED_REQUEST")
