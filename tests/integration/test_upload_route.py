"""The upload Lambda on real HTTP API v2 events against moto S3 and DynamoDB: status, body and
what is (or is not) stored, for every row of SPEC section 4 that concerns the upload route."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tracemalloc
import zlib
from decimal import Decimal
from typing import Any
from urllib.parse import unquote

import boto3
import pytest
from botocore.exceptions import ClientError
from urllib3 import encode_multipart_formdata

from lambdas.handlers import upload as handler
from lambdas.intake.form import clean_file_name
from lambdas.intake.objects import ObjectStore
from lambdas.intake.service import IntakeService
from lambdas.jobs.objects import UploadMetadata, source_key
from lambdas.jobs.store import JobStore
from testkit.apigw import TENANT_A, http_event, response_json

USERS_CSV = b"user_username,user_name,user_password\r\njdoe,John Doe,Secret#123\r\n"
UPLOAD = "/api/v1/upload"


@pytest.fixture
def clients(resources: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The handler's service wired to clients the test can inspect and break."""
    s3 = boto3.client("s3")
    dynamodb = boto3.resource("dynamodb")
    ddb_client = boto3.client("dynamodb")
    settings = handler.settings
    service = IntakeService(
        settings,
        jobs=JobStore(settings.jobs_table, resource=dynamodb),
        objects=ObjectStore(settings.bucket_name, client=s3),
        idempotency_client=ddb_client,
    )
    monkeypatch.setattr(handler, "service", lambda: service)
    return {"s3": s3, "dynamodb": dynamodb, "ddb_client": ddb_client, "settings": settings}


def form(*parts: tuple[str, Any]) -> tuple[bytes, str]:
    return encode_multipart_formdata(list(parts), boundary="xXxBoundaryxXx")


def upload_event(*parts: tuple[str, Any], path: str = UPLOAD, headers: dict[str, str] | None = None, **kw: Any):
    body, content_type = form(*parts)
    return http_event("POST", path, body=body, headers={"content-type": content_type, **(headers or {})}, **kw)


def call(event: dict[str, Any], lambda_context: Any) -> tuple[int, Any]:
    response = handler.lambda_handler(event, lambda_context)
    return response["statusCode"], response_json(response)


def stored_keys(clients: dict[str, Any]) -> list[str]:
    listing = clients["s3"].list_objects_v2(Bucket=clients["settings"].bucket_name)
    return [item["Key"] for item in listing.get("Contents", [])]


def job_items(clients: dict[str, Any]) -> list[dict[str, Any]]:
    return clients["dynamodb"].Table(clients["settings"].jobs_table).scan()["Items"]


def assert_nothing_stored(clients: dict[str, Any]) -> None:
    assert stored_keys(clients) == []
    assert job_items(clients) == []


# --- success -------------------------------------------------------------------------------


def test_upload_stores_file_and_pending_job_and_answers_reference(clients, lambda_context):
    # Given a users.csv in a multipart form
    event = upload_event(("file", ("users.csv", USERS_CSV, "text/csv")))
    # When it is uploaded
    status, body = call(event, lambda_context)
    # Then the answer names the pending object, which holds the bytes with the tenant's metadata
    assert status == 200
    ref = body["result"]["referenceId"]
    assert body["result"]["message"] == f"File uploaded to import-csv/pending/{ref}.csv"
    assert ref == ref.lower() and len(ref) == 36
    obj = clients["s3"].get_object(Bucket=clients["settings"].bucket_name, Key=f"import-csv/pending/{ref}.csv")
    assert obj["Body"].read() == USERS_CSV
    assert obj["Metadata"]["tenant"] == TENANT_A
    assert obj["Metadata"]["dryrun"] == "false"
    assert len(obj["Metadata"]["sha256"]) == 64
    [job] = job_items(clients)
    assert (job["pk"], job["sk"], job["status"], job["fileName"]) == (TENANT_A, ref, "PENDING", "users.csv")


def test_upload_alias_route_is_served_like_the_main_route(clients, lambda_context):
    event = upload_event(("file", ("users.csv", USERS_CSV, "text/csv")), path="/api/v1/upload/api/v1/upload")
    status, body = call(event, lambda_context)
    assert status == 200
    assert stored_keys(clients) == [f"import-csv/pending/{body['result']['referenceId']}.csv"]


def test_upload_with_dry_run_field_records_dry_run(clients, lambda_context):
    event = upload_event(("dryRun", "TRUE"), ("file", ("users.csv", USERS_CSV, "text/csv")))
    status, _ = call(event, lambda_context)
    assert status == 200
    [job] = job_items(clients)
    assert job["dryRun"] is True


def test_upload_accepts_text_csv_part_type_with_other_name(clients, lambda_context):
    event = upload_event(("file", ("export.txt", USERS_CSV, "text/csv")))
    assert call(event, lambda_context)[0] == 200


@pytest.mark.parametrize(
    "content",
    [
        b"\xef\xbb\xbfuser_username,user_name\njdoe,John\n",  # BOM
        b"user_username,user_name\r\njdoe,John\r\n",  # CRLF
        b'group_name,group_description\ng1,"two\r\nlines, and a comma"\n',  # quoted newline
    ],
    ids=["bom", "crlf", "quoted-newline"],
)
def test_upload_stores_csv_variants_byte_for_byte(clients, lambda_context, content):
    status, body = call(upload_event(("file", ("f.csv", content, "text/csv"))), lambda_context)
    assert status == 200
    key = f"import-csv/pending/{body['result']['referenceId']}.csv"
    assert clients["s3"].get_object(Bucket=clients["settings"].bucket_name, Key=key)["Body"].read() == content


def test_upload_keeps_file_name_with_quotes_and_non_ascii_out_of_the_key(clients, lambda_context):
    name = 'élèves "2026" 第1.csv'
    status, body = call(upload_event(("file", (name, USERS_CSV, "text/csv"))), lambda_context)
    assert status == 200
    ref = body["result"]["referenceId"]
    assert stored_keys(clients) == [f"import-csv/pending/{ref}.csv"]
    [job] = job_items(clients)
    assert job["fileName"] == name
    head = clients["s3"].head_object(Bucket=clients["settings"].bucket_name, Key=f"import-csv/pending/{ref}.csv")
    assert unquote(head["Metadata"]["filename"]) == name


def test_upload_file_name_with_path_traversal_keeps_only_its_last_component(clients, lambda_context):
    status, body = call(upload_event(("file", ("../../etc/passwd.csv", USERS_CSV, "text/csv"))), lambda_context)
    assert status == 200
    assert stored_keys(clients) == [f"import-csv/pending/{body['result']['referenceId']}.csv"]
    assert job_items(clients)[0]["fileName"] == "passwd.csv"


def test_upload_of_4mb_csv_direct_event_is_accepted(clients, lambda_context):
    row = b"user%07d,Some Name,Passw0rd!x,user@example.org,en-US,TRUE\n"
    content = b"user_username,user_name,user_password,user_email,user_language,user_active\n" + b"".join(
        row % i for i in range(4_000_000 // 60)
    )
    status, _ = call(upload_event(("file", ("users.csv", content, "text/csv"))), lambda_context)
    assert status == 200
    assert len(content) > 3_900_000


def test_upload_with_null_scopes_falls_back_to_scope_claim(clients, lambda_context):
    event = upload_event(("file", ("users.csv", USERS_CSV, "text/csv")), scopes=None)
    event["requestContext"]["authorizer"]["jwt"]["claims"]["scope"] = "rostering/import"
    assert call(event, lambda_context)[0] == 200


# --- gzip ----------------------------------------------------------------------------------


def test_upload_gzip_part_is_stored_decompressed(clients, lambda_context):
    status, body = call(
        upload_event(("file", ("users.csv.gz", gzip.compress(USERS_CSV), "application/gzip"))), lambda_context
    )
    assert status == 200
    key = f"import-csv/pending/{body['result']['referenceId']}.csv"
    assert clients["s3"].get_object(Bucket=clients["settings"].bucket_name, Key=key)["Body"].read() == USERS_CSV


def test_upload_gzip_part_type_on_csv_name_is_decompressed(clients, lambda_context):
    status, _ = call(
        upload_event(("file", ("users.csv", gzip.compress(USERS_CSV), "application/gzip"))), lambda_context
    )
    assert status == 200


def test_upload_gzip_of_exactly_10_mib_is_accepted(clients, lambda_context):
    content = _csv_of_size(clients["settings"].max_upload_bytes)
    status, _ = call(
        upload_event(("file", ("big.csv.gz", gzip.compress(content, 6), "application/gzip"))), lambda_context
    )
    assert status == 200


def test_upload_gzip_one_byte_over_the_limit_is_413_file_too_large(clients, lambda_context):
    content = _csv_of_size(clients["settings"].max_upload_bytes + 1)
    status, body = call(
        upload_event(("file", ("big.csv.gz", gzip.compress(content, 6), "application/gzip"))), lambda_context
    )
    assert (status, body["code"]) == (413, "FILE_TOO_LARGE")
    assert_nothing_stored(clients)


def test_upload_gzip_bomb_is_refused_after_reading_at_most_the_limit(clients, lambda_context, gzip_bomb):
    # Given 1 GiB of zeros compressed to about a megabyte
    event = upload_event(("file", ("bomb.csv.gz", gzip_bomb, "application/gzip")))
    # When it is uploaded, memory stays within a small multiple of the limit
    tracemalloc.start()
    status, body = call(event, lambda_context)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # Then it is refused as too large
    assert (status, body["code"]) == (413, "FILE_TOO_LARGE")
    assert peak < 3 * clients["settings"].max_upload_bytes
    assert_nothing_stored(clients)


def test_upload_corrupt_gzip_is_415(clients, lambda_context):
    broken = bytearray(gzip.compress(USERS_CSV * 50))
    broken[20:40] = b"\xff" * 20
    status, body = call(upload_event(("file", ("users.csv.gz", bytes(broken), "application/gzip"))), lambda_context)
    assert (status, body["code"]) == (415, "INVALID_FILE_TYPE")
    assert_nothing_stored(clients)


def test_upload_truncated_gzip_is_415(clients, lambda_context):
    data = gzip.compress(USERS_CSV * 50)[:-12]
    status, body = call(upload_event(("file", ("users.csv.gz", data, "application/gzip"))), lambda_context)
    assert (status, body["code"]) == (415, "INVALID_FILE_TYPE")


# --- the error table -----------------------------------------------------------------------


def test_upload_without_file_part_is_400_missing_file(clients, lambda_context):
    status, body = call(upload_event(("dryRun", "false")), lambda_context)
    assert (status, body["code"]) == (400, "MISSING_FILE")
    assert "file" in body["message"]
    assert_nothing_stored(clients)


def test_upload_with_json_body_is_400_malformed_request(clients, lambda_context):
    event = http_event("POST", UPLOAD, body=b'{"file": "x"}', headers={"content-type": "application/json"})
    status, body = call(event, lambda_context)
    assert (status, body["code"]) == (400, "MALFORMED_REQUEST")
    assert_nothing_stored(clients)


def test_upload_without_body_is_400_malformed_request(clients, lambda_context):
    event = http_event("POST", UPLOAD, headers={"content-type": "multipart/form-data; boundary=abc"})
    status, body = call(event, lambda_context)
    assert (status, body["code"]) == (400, "MALFORMED_REQUEST")


def test_upload_with_cut_off_multipart_body_is_400_malformed_request(clients, lambda_context):
    body, content_type = form(("file", ("users.csv", USERS_CSV, "text/csv")))
    event = http_event("POST", UPLOAD, body=body[:-20], headers={"content-type": content_type})
    status, answer = call(event, lambda_context)
    assert (status, answer["code"]) == (400, "MALFORMED_REQUEST")
    assert_nothing_stored(clients)


def test_upload_with_two_file_parts_is_400_malformed_request(clients, lambda_context):
    event = upload_event(("file", ("a.csv", USERS_CSV, "text/csv")), ("file", ("b.csv", USERS_CSV, "text/csv")))
    status, body = call(event, lambda_context)
    assert (status, body["code"]) == (400, "MALFORMED_REQUEST")
    assert_nothing_stored(clients)


def test_upload_with_invalid_dry_run_is_400_malformed_request(clients, lambda_context):
    event = upload_event(("dryRun", "maybe"), ("file", ("users.csv", USERS_CSV, "text/csv")))
    assert call(event, lambda_context)[1]["code"] == "MALFORMED_REQUEST"


def test_upload_of_empty_file_is_400_empty_file(clients, lambda_context):
    status, body = call(upload_event(("file", ("users.csv", b"", "text/csv"))), lambda_context)
    assert (status, body["code"]) == (400, "EMPTY_FILE")
    assert_nothing_stored(clients)


@pytest.mark.parametrize(
    ("name", "content", "part_type"),
    [
        ("users.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image/png"),
        ("users.csv", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "application/pdf"),
        ("users.csv", b"PK\x03\x04\x14\x00\x06\x00", "application/octet-stream"),
        ("users.csv", b"user_username\njdoe\x00\n", "text/csv"),
        ("users.csv", b"user_username\nj\xe9r\xf4me\n", "text/csv"),
        ("users.xlsx", USERS_CSV, "application/vnd.ms-excel"),
        ("users.txt", USERS_CSV, "text/plain"),
    ],
    ids=["png", "pdf", "zip", "nul", "latin1", "xlsx-name", "txt-name"],
)
def test_upload_of_non_csv_is_415_invalid_file_type(clients, lambda_context, name, content, part_type):
    status, body = call(upload_event(("file", (name, content, part_type))), lambda_context)
    assert (status, body["code"]) == (415, "INVALID_FILE_TYPE")
    assert_nothing_stored(clients)


def test_upload_over_max_upload_bytes_is_413_file_too_large(clients, lambda_context, monkeypatch):
    monkeypatch.setattr(handler, "settings", _with(handler.settings, max_upload_bytes=1000))
    status, body = call(upload_event(("file", ("users.csv", USERS_CSV * 20, "text/csv"))), lambda_context)
    assert (status, body["code"]) == (413, "FILE_TOO_LARGE")
    assert_nothing_stored(clients)


def test_upload_with_read_scope_only_is_403_forbidden(clients, lambda_context):
    event = upload_event(("file", ("users.csv", USERS_CSV, "text/csv")), scopes=("rostering/read",))
    status, body = call(event, lambda_context)
    assert (status, body) == (403, {"message": "Forbidden"})
    assert_nothing_stored(clients)


def test_upload_on_unknown_path_is_404(clients, lambda_context):
    status, body = call(
        upload_event(("file", ("users.csv", USERS_CSV, "text/csv")), path="/api/v2/upload"), lambda_context
    )
    assert (status, body) == (404, {"message": "Not Found"})


# --- storage failures leave nothing half-written --------------------------------------------


def _fail(operation: str):
    def raise_error(**_: Any) -> None:
        raise ClientError({"Error": {"Code": "InternalError", "Message": "injected"}}, operation)

    return raise_error


def test_s3_failure_is_500_upload_error_and_leaves_no_job(clients, lambda_context):
    clients["s3"].meta.events.register("before-call.s3.PutObject", _fail("PutObject"))
    status, body = call(upload_event(("file", ("users.csv", USERS_CSV, "text/csv"))), lambda_context)
    assert (status, body["code"]) == (500, "UPLOAD_ERROR")
    assert_nothing_stored(clients)


def test_dynamodb_failure_is_500_upload_error_and_leaves_no_object(clients, lambda_context):
    clients["dynamodb"].meta.client.meta.events.register("before-call.dynamodb.PutItem", _fail("PutItem"))
    status, body = call(upload_event(("file", ("users.csv", USERS_CSV, "text/csv"))), lambda_context)
    assert (status, body["code"]) == (500, "UPLOAD_ERROR")
    assert_nothing_stored(clients)


def test_failed_compensation_leaves_a_job_that_expires_and_no_object(clients, lambda_context):
    clients["s3"].meta.events.register("before-call.s3.PutObject", _fail("PutObject"))
    clients["dynamodb"].meta.client.meta.events.register("before-call.dynamodb.DeleteItem", _fail("DeleteItem"))
    status, body = call(upload_event(("file", ("users.csv", USERS_CSV, "text/csv"))), lambda_context)
    assert (status, body["code"]) == (500, "UPLOAD_ERROR")
    assert stored_keys(clients) == []
    [job] = job_items(clients)
    assert job["status"] == "PENDING" and job["uploadDeadline"] > 0


# --- Idempotency-Key -----------------------------------------------------------------------


def test_same_idempotency_key_and_bytes_replays_first_answer_and_stores_once(clients, lambda_context):
    headers = {"Idempotency-Key": "nightly-2026-11-28"}
    first = call(upload_event(("file", ("users.csv", USERS_CSV, "text/csv")), headers=headers), lambda_context)
    again = call(upload_event(("file", ("users.csv", USERS_CSV, "text/csv")), headers=headers), lambda_context)
    assert first == again and first[0] == 200
    assert len(stored_keys(clients)) == 1 and len(job_items(clients)) == 1


def test_same_idempotency_key_compares_bytes_after_decompression(clients, lambda_context):
    headers = {"Idempotency-Key": "k1"}
    first = call(upload_event(("file", ("users.csv", USERS_CSV, "text/csv")), headers=headers), lambda_context)
    gz = upload_event(("file", ("users.csv.gz", gzip.compress(USERS_CSV), "application/gzip")), headers=headers)
    assert call(gz, lambda_context) == first


def test_same_idempotency_key_with_other_bytes_is_409_conflict(clients, lambda_context):
    headers = {"Idempotency-Key": "k2"}
    call(upload_event(("file", ("users.csv", USERS_CSV, "text/csv")), headers=headers), lambda_context)
    status, body = call(
        upload_event(("file", ("users.csv", USERS_CSV + b"x,y,z\n", "text/csv")), headers=headers), lambda_context
    )
    assert (status, body["code"]) == (409, "IDEMPOTENCY_CONFLICT")
    assert len(stored_keys(clients)) == 1


@pytest.mark.parametrize(("first", "then"), [("true", "false"), ("false", "true")])
def test_same_idempotency_key_and_bytes_with_other_dry_run_is_409_conflict(clients, lambda_context, first, then):
    # Given a dry run (or a real run) accepted under a key
    headers = {"Idempotency-Key": f"nightly-{first}"}
    part = ("file", ("users.csv", USERS_CSV, "text/csv"))
    accepted = call(upload_event(("dryRun", first), part, headers=headers), lambda_context)
    assert accepted[0] == 200
    # When the same key and bytes come with the other dryRun
    status, body = call(upload_event(("dryRun", then), part, headers=headers), lambda_context)
    # Then 409, not the first answer again: nothing new is stored and the first job keeps its dryRun
    assert (status, body["code"]) == (409, "IDEMPOTENCY_CONFLICT")
    assert "dryRun" in body["message"]
    [job] = job_items(clients)
    assert job["dryRun"] is (first == "true") and len(stored_keys(clients)) == 1


@pytest.mark.parametrize(
    ("first", "then"), [("10", "50"), (None, "25"), ("25", None)], ids=["10-then-50", "none-then-25", "25-then-none"]
)
def test_same_idempotency_key_and_bytes_with_other_change_threshold_is_409_conflict(
    clients, lambda_context, first, then
):
    # Given an upload accepted under a key with one changeThreshold (or none)
    headers = {"Idempotency-Key": f"threshold-{first}"}
    part = ("file", ("users.csv", USERS_CSV, "text/csv"))
    threshold = lambda value: [] if value is None else [("changeThreshold", value)]  # noqa: E731
    accepted = call(upload_event(*threshold(first), part, headers=headers), lambda_context)
    assert accepted[0] == 200
    # When the same key and bytes come with another threshold
    status, body = call(upload_event(*threshold(then), part, headers=headers), lambda_context)
    # Then 409: replaying the first answer would silently drop the threshold the caller asked for
    assert (status, body["code"]) == (409, "IDEMPOTENCY_CONFLICT")
    assert "changeThreshold" in body["message"]
    [job] = job_items(clients)
    assert job.get("changeThreshold") == (None if first is None else Decimal(first))
    assert len(stored_keys(clients)) == 1


def test_same_idempotency_key_bytes_and_change_threshold_replay_the_first_reference(clients, lambda_context):
    # Given an upload accepted under a key with changeThreshold 25
    headers = {"Idempotency-Key": "nightly-held-25"}
    part = ("file", ("users.csv", USERS_CSV, "text/csv"))
    first = call(upload_event(("changeThreshold", "25"), part, headers=headers), lambda_context)
    # When the same key, bytes and threshold come again (written as 25.0: the same percentage)
    again = call(upload_event(("changeThreshold", "25.0"), part, headers=headers), lambda_context)
    # Then the first answer again, one job with its threshold, one object
    assert first == again and first[0] == 200
    [job] = job_items(clients)
    assert job["changeThreshold"] == Decimal(25) and len(stored_keys(clients)) == 1


def test_idempotency_fingerprint_without_threshold_is_the_previous_releases(clients, lambda_context):
    # Given an upload under a key without changeThreshold
    headers = {"Idempotency-Key": "stored-by-the-previous-release"}
    part = ("file", ("users.csv", USERS_CSV, "text/csv"))
    first = call(upload_event(part, headers=headers), lambda_context)
    # Then its stored validation hash is the one the previous release stored for [sha256, dryRun]
    # (Powertools: md5 of the sorted JSON), so a retry that straddles a deploy still replays
    [record] = clients["dynamodb"].Table(clients["settings"].idempotency_table).scan()["Items"]
    before = json.dumps([hashlib.sha256(USERS_CSV).hexdigest(), False], sort_keys=True)
    assert record["validation"] == hashlib.md5(before.encode()).hexdigest()
    assert call(upload_event(part, headers=headers), lambda_context) == first


def test_same_idempotency_key_and_bytes_under_another_file_name_replays(clients, lambda_context):
    # The key covers the bytes (after decompression), dryRun and changeThreshold, not the part's name
    headers = {"Idempotency-Key": "renamed"}
    first = call(upload_event(("file", ("users.csv", USERS_CSV, "text/csv")), headers=headers), lambda_context)
    again = call(upload_event(("file", ("eleves.csv", USERS_CSV, "text/csv")), headers=headers), lambda_context)
    assert first == again and first[0] == 200 and len(job_items(clients)) == 1


def test_idempotency_key_is_scoped_per_tenant(clients, lambda_context):
    headers = {"Idempotency-Key": "shared"}
    a = call(upload_event(("file", ("users.csv", USERS_CSV, "text/csv")), headers=headers), lambda_context)
    b = call(
        upload_event(("file", ("users.csv", USERS_CSV, "text/csv")), headers=headers, tenant="tenant-b-client"),
        lambda_context,
    )
    assert a[0] == b[0] == 200
    assert a[1]["result"]["referenceId"] != b[1]["result"]["referenceId"]


def test_idempotency_key_in_flight_is_409_conflict(clients, lambda_context, monkeypatch):
    # Given a first request that is still storing when the retry arrives
    headers = {"Idempotency-Key": "slow"}
    service = handler.service()
    original = service._store
    answers: list[tuple[int, Any]] = []

    def store_while_retry_arrives(**kwargs: Any) -> dict[str, Any]:
        answers.append(
            call(upload_event(("file", ("users.csv", USERS_CSV, "text/csv")), headers=headers), lambda_context)
        )
        return original(**kwargs)

    monkeypatch.setattr(service, "_store", store_while_retry_arrives)
    first = call(upload_event(("file", ("users.csv", USERS_CSV, "text/csv")), headers=headers), lambda_context)
    # Then the retry is told to wait and the first request completes
    assert first[0] == 200
    assert answers[0][0] == 409 and answers[0][1]["code"] == "IDEMPOTENCY_CONFLICT"


def test_idempotency_key_failure_releases_the_key_for_a_retry(clients, lambda_context):
    headers = {"Idempotency-Key": "retry-me"}
    unregister = _fail("PutObject")
    clients["s3"].meta.events.register("before-call.s3.PutObject", unregister)
    assert call(upload_event(("file", ("users.csv", USERS_CSV, "text/csv")), headers=headers), lambda_context)[0] == 500
    clients["s3"].meta.events.unregister("before-call.s3.PutObject", unregister)
    assert call(upload_event(("file", ("users.csv", USERS_CSV, "text/csv")), headers=headers), lambda_context)[0] == 200


def test_idempotency_key_over_128_characters_is_400(clients, lambda_context):
    event = upload_event(("file", ("users.csv", USERS_CSV, "text/csv")), headers={"Idempotency-Key": "k" * 129})
    assert call(event, lambda_context)[1]["code"] == "MALFORMED_REQUEST"
    assert_nothing_stored(clients)


# --- presigned POST route ------------------------------------------------------------------


def test_upload_url_creates_pending_job_and_a_post_bound_to_its_key(clients, lambda_context):
    event = http_event(
        "POST",
        "/api/v1/upload/url",
        body=json.dumps({"fileName": "users.csv", "dryRun": True}),
        base64_body=False,
        headers={"content-type": "application/json"},
    )
    status, body = call(event, lambda_context)
    assert status == 200
    result = body["result"]
    ref = result["referenceId"]
    assert result["fields"]["key"] == f"import-csv/pending/{ref}.csv"
    assert result["fields"]["x-amz-meta-tenant"] == TENANT_A
    assert result["maxBytes"] == clients["settings"].max_upload_bytes
    policy = json.loads(__import__("base64").b64decode(result["fields"]["policy"]))
    assert ["content-length-range", 1, clients["settings"].max_upload_bytes] in policy["conditions"]
    [job] = job_items(clients)
    assert (job["status"], job["dryRun"], job["source"]) == ("PENDING", True, "presigned")


def test_upload_url_post_with_fields_stores_the_file_under_the_reference(clients, lambda_context):
    import requests  # inside mock_aws, moto also answers plain HTTP calls to S3

    status, body = call(http_event("POST", "/api/v1/upload/url"), lambda_context)
    assert status == 200
    result = body["result"]
    response = requests.post(result["url"], data=result["fields"], files={"file": ("users.csv", USERS_CSV)}, timeout=10)
    assert response.status_code in (200, 204)
    key = f"import-csv/pending/{result['referenceId']}.csv"
    obj = clients["s3"].get_object(Bucket=clients["settings"].bucket_name, Key=key)
    assert obj["Body"].read() == USERS_CSV and obj["Metadata"]["tenant"] == TENANT_A


def stored_metadata(clients: dict[str, Any], reference_id: str) -> UploadMetadata:
    head = clients["s3"].head_object(Bucket=clients["settings"].bucket_name, Key=source_key(reference_id))
    return UploadMetadata.from_s3(head["Metadata"])


def test_upload_carries_its_change_threshold_in_the_object_metadata(clients, lambda_context):
    # Given an upload with changeThreshold 12.5
    part = ("file", ("users.csv", USERS_CSV, "text/csv"))
    status, body = call(upload_event(("changeThreshold", "12.5"), part), lambda_context)
    # Then the stored object says so, as it says the tenant and dryRun (a rebuilt job reads it there)
    assert status == 200
    metadata = stored_metadata(clients, body["result"]["referenceId"])
    assert (metadata.tenant, metadata.change_threshold) == (TENANT_A, Decimal("12.5"))
    # And an upload without one stores none
    status, body = call(upload_event(part), lambda_context)
    assert stored_metadata(clients, body["result"]["referenceId"]).change_threshold is None


def test_upload_url_pins_the_change_threshold_in_the_signed_policy(clients, lambda_context):
    import requests  # inside mock_aws, moto also answers plain HTTP calls to S3

    # Given a presigned upload prepared with changeThreshold 25
    event = http_event("POST", "/api/v1/upload/url", body='{"changeThreshold": 25}', base64_body=False)
    status, body = call(event, lambda_context)
    assert status == 200
    result = body["result"]
    # Then the threshold is a field the policy pins by an exact condition (S3 refuses another value)
    fields = result["fields"]
    policy = json.loads(__import__("base64").b64decode(fields["policy"]))
    value = fields["x-amz-meta-changethreshold"]
    assert Decimal(value) == 25 and {"x-amz-meta-changethreshold": value} in policy["conditions"]
    # And the file posted with those fields carries it as the direct route's file does
    files = {"file": ("users.csv", USERS_CSV)}
    assert requests.post(result["url"], data=fields, files=files, timeout=10).status_code in (200, 204)
    assert stored_metadata(clients, result["referenceId"]).change_threshold == Decimal(25)


def test_upload_url_without_change_threshold_signs_no_threshold_field(clients, lambda_context):
    status, body = call(http_event("POST", "/api/v1/upload/url"), lambda_context)
    fields = body["result"]["fields"]
    policy = json.loads(__import__("base64").b64decode(fields["policy"]))
    # Then no threshold field: S3 refuses one the client adds ("Extra input fields")
    assert status == 200 and "x-amz-meta-changethreshold" not in fields
    assert not any("x-amz-meta-changethreshold" in json.dumps(condition) for condition in policy["conditions"])


def test_upload_url_with_non_csv_name_is_415(clients, lambda_context):
    event = http_event("POST", "/api/v1/upload/url", body='{"fileName": "users.xlsx"}', base64_body=False)
    assert call(event, lambda_context)[1]["code"] == "INVALID_FILE_TYPE"
    assert job_items(clients) == []


def test_upload_url_with_broken_json_is_400(clients, lambda_context):
    event = http_event("POST", "/api/v1/upload/url", body="{not json", base64_body=False)
    assert call(event, lambda_context)[1]["code"] == "MALFORMED_REQUEST"


def presign(file_name: str, lambda_context: Any) -> tuple[int, Any]:
    body = json.dumps({"fileName": file_name})
    return call(http_event("POST", "/api/v1/upload/url", body=body, base64_body=False), lambda_context)


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("users.csv", "users.csv"),
        ("../../etc/users.csv", "users.csv"),
        ("C:\\temp\\..\\users.csv", "users.csv"),
        ("users\r\nX-Injected: 1\r\n.csv", "usersX-Injected: 1.csv"),
        ("a" * 3000 + ".csv", "a" * 251 + ".csv"),
        ("é" * 300 + ".csv", "é" * 125 + ".csv"),
        ("\U0001f600" * 100 + ".csv", "\U0001f600" * 62 + ".csv"),
    ],
    ids=["plain", "traversal", "windows-path", "crlf", "3000-characters", "2-byte-chars", "4-byte-chars"],
)
def test_upload_url_cleans_file_name_as_the_upload_form_does(clients, lambda_context, sent, kept):
    # Given a fileName with a path, control characters or thousands of characters
    # When a presigned upload is prepared for it
    status, body = presign(sent, lambda_context)
    # Then the job, the signed metadata and the upload form all hold the same cleaned name
    assert status == 200, body
    assert clean_file_name(sent) == kept
    [job] = job_items(clients)
    assert job["fileName"] == kept
    fields = body["result"]["fields"]
    assert unquote(fields["x-amz-meta-filename"]) == kept
    assert len(fields["x-amz-meta-filename"]) <= 3 * 255  # S3 allows 2 KB of user metadata in all
    part = upload_event(("file", (sent, USERS_CSV, "text/csv")))
    direct_status, direct = call(part, lambda_context)
    assert direct_status == 200
    jobs = {item["sk"]: item["fileName"] for item in job_items(clients)}
    assert jobs[direct["result"]["referenceId"]] == kept


@pytest.mark.parametrize("sent", ["../", "users.csv\u0000.xlsx", "\r\n"])
def test_upload_url_name_that_is_no_csv_once_cleaned_is_415(clients, lambda_context, sent):
    status, body = presign(sent, lambda_context)
    assert (status, body["code"]) == (415, "INVALID_FILE_TYPE")
    assert job_items(clients) == []


def test_upload_url_with_deeply_nested_json_is_400_not_500(clients, lambda_context):
    # Given a body of 200,000 nested JSON arrays (json.loads raises RecursionError)
    event = http_event("POST", "/api/v1/upload/url", body="[" * 200_000 + "]" * 200_000, base64_body=False)
    # When it is sent
    status, body = call(event, lambda_context)
    # Then 400 MALFORMED_REQUEST and no job
    assert (status, body["code"]) == (400, "MALFORMED_REQUEST")
    assert job_items(clients) == []


# --- helpers -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def gzip_bomb() -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(1 << 20)
    out = io.BytesIO()
    for _ in range(1024):
        out.write(compressor.compress(zeros))
    out.write(compressor.flush())
    return out.getvalue()


def _csv_of_size(size: int) -> bytes:
    header = b"user_username,user_name\n"
    row = b"user%09d,Name Surname %09d\n"
    body = bytearray(header)
    i = 0
    while len(body) < size:
        body += row % (i, i)
        i += 1
    return bytes(body[: size - 1]) + b"\n"


def _with(settings: Any, **changes: Any) -> Any:
    from dataclasses import replace

    return replace(settings, **changes)
