"""Security checks through the real handlers against moto: a tenant-isolation matrix over every
read route and its alias, idempotency keys that do not cross tenants, secrets that never leave
their place (logs, reports, status bodies, S3 metadata, tables, events), object keys that never
come from user input, and result reports that neutralise formula cells end to end."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import boto3
import pytest
import requests
from moto import mock_aws
from urllib3 import encode_multipart_formdata

from lambdas.common.config import PENDING_PREFIX, Settings
from lambdas.common.observability import logger
from lambdas.handlers import importer as importer_handler
from lambdas.handlers import status as status_handler
from lambdas.handlers import token as token_handler
from lambdas.handlers import upload as upload_handler
from lambdas.importer.pipeline import Importer
from lambdas.intake.objects import ObjectStore
from lambdas.intake.service import IntakeService
from lambdas.jobs.store import JobStore
from local.issuer import LocalIssuer
from local.resources import create_bucket, create_tables
from testkit.apigw import TENANT_A, TENANT_B, http_event, response_json
from testkit.context import FakeLambdaContext
from testkit.import_stack import (
    ImportStack,
    build_import_stack,
    new_reference,
    sqs_event,
    status_event,
    upload_event,
)
from tests.auth_fixtures import CLIENT_ID, CLIENT_SECRET, CLIENTS, ISSUER_URL, FakeCognito, token_event

READ_ROUTES = (
    "/api/v1/status/{referenceId}",
    "/api/v1/upload/api/v1/status/{referenceId}",
    "/api/v1/download/{referenceId}",
    "/api/v1/upload/api/v1/download/{referenceId}",
)
UPLOAD_ROUTES = ("/api/v1/upload", "/api/v1/upload/api/v1/upload")
PENDING_KEY = re.compile(
    re.escape(PENDING_PREFIX) + r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.csv"
)
PASSWORDS = ("Secret#Pass1", "Other#Pass2", "weakpass")
USERS_WITH_PASSWORDS = (
    b"user_username,user_name,user_password\r\n"
    b"jdoe,John Doe,Secret#Pass1\r\n"
    b"asmith,Ann Smith,Other#Pass2\r\n"
    b"bweak,Bob Weak,weakpass\r\n"
)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class World:
    """The service in moto: the upload, status and importer handlers over one set of resources."""

    stack: ImportStack
    events_client: Any
    published: list[dict[str, Any]] = field(default_factory=list)

    def upload(
        self,
        content: bytes,
        *,
        tenant: str = TENANT_A,
        file_name: str = "users.csv",
        path: str = "/api/v1/upload",
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        body, content_type = encode_multipart_formdata(
            [("file", (file_name, content, "text/csv"))], boundary="sEcUrItYbOuNdArY"
        )
        event = http_event(
            "POST", path, body=body, headers={"content-type": content_type, **(headers or {})}, tenant=tenant
        )
        response = upload_handler.lambda_handler(event, FakeLambdaContext())
        return response["statusCode"], response_json(response)

    def importer(self, **overrides: Any) -> Importer:
        return Importer.build(
            replace(self.stack.settings, **overrides),
            self.stack.rules(),
            dynamodb=self.stack.dynamodb,
            s3=self.stack.s3,
            sqs=self.stack.sqs,
            eventbridge=self.events_client,
        )

    def import_all(self, reference_id: str, **overrides: Any) -> None:
        """Deliver the upload's S3 event, then every chunk message it causes."""
        importer = self.importer(**overrides)
        event = upload_event(reference_id)
        while True:
            answer = importer_handler.process_batch(event, FakeLambdaContext(), importer)
            assert answer["batchItemFailures"] == []
            bodies = self.stack.queue_bodies()
            if not bodies:
                return
            event = sqs_event(bodies)

    def read(self, route: str, reference_id: str, tenant: str) -> tuple[int, Any]:
        response = status_handler.lambda_handler(status_event(route, reference_id, tenant=tenant), FakeLambdaContext())
        return response["statusCode"], response_json(response)

    def keys(self) -> set[str]:
        listing = self.stack.s3.list_objects_v2(Bucket=self.stack.settings.bucket_name)
        return {item["Key"] for item in listing.get("Contents", [])}


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    """The handlers wired to one moto account; the importer's EventBridge calls are captured."""
    with mock_aws():
        settings = Settings(password_hash_log2_n=4)
        s3 = boto3.client("s3")
        create_bucket(s3, settings)
        create_tables(boto3.client("dynamodb"), settings)
        stack = build_import_stack({"s3": s3}, settings)
        events_client = boto3.client("events")
        world = World(stack=stack, events_client=events_client)

        def capture(params: dict[str, Any], **_: Any) -> None:
            world.published.extend(json.loads(entry["Detail"]) for entry in params["Entries"])

        events_client.meta.events.register("before-parameter-build.eventbridge.PutEvents", capture)
        service = IntakeService(
            upload_handler.settings,
            jobs=JobStore(settings.jobs_table, resource=stack.dynamodb),
            objects=ObjectStore(settings.bucket_name, client=s3),
            idempotency_client=boto3.client("dynamodb"),
        )
        previous, upload_handler.service = upload_handler.service, lambda: service
        status_handler.queries.cache_clear()
        yield world
        status_handler.queries.cache_clear()
        upload_handler.service = previous


# -- tenant isolation -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def jobs_by_tenant(world: World) -> dict[str, list[str]]:
    """Each tenant's references: a completed import, a failed import, and an upload not yet imported."""
    refs: dict[str, list[str]] = {}
    for tenant in (TENANT_A, TENANT_B):
        completed = world.upload(USERS_WITH_PASSWORDS, tenant=tenant)[1]["result"]["referenceId"]
        failed = world.upload(b"colour,size\r\nred,XL\r\n", tenant=tenant)[1]["result"]["referenceId"]
        pending = world.upload(USERS_WITH_PASSWORDS, tenant=tenant)[1]["result"]["referenceId"]
        world.import_all(completed)
        world.import_all(failed)
        refs[tenant] = [completed, failed, pending]
    return refs


@pytest.mark.parametrize("route", READ_ROUTES)
@pytest.mark.parametrize(("owner", "reader"), [(TENANT_A, TENANT_B), (TENANT_B, TENANT_A)], ids=["a-by-b", "b-by-a"])
def test_every_reference_of_another_tenant_is_not_found_on_every_read_route(
    world: World, jobs_by_tenant: dict[str, list[str]], route: str, owner: str, reader: str
) -> None:
    # Given the owner's completed, failed and pending jobs, which the owner can read
    refs = jobs_by_tenant[owner]
    assert all(world.read(route, ref, owner)[0] in (200, 409) for ref in refs)
    # When the other tenant reads each of them on the route
    answers = [world.read(route, ref, reader) for ref in refs]
    # Then each answer is the one of a reference that does not exist
    assert [(status, body["code"]) for status, body in answers] == [(404, "NOT_FOUND")] * len(refs)
    unknown = world.read(route, new_reference(), reader)
    assert {status for status, _ in answers} == {unknown[0]}


@pytest.mark.parametrize("path", UPLOAD_ROUTES)
def test_another_tenants_idempotency_key_starts_a_new_job_of_the_caller(world: World, path: str) -> None:
    # Given tenant A's upload under an Idempotency-Key
    key = {"Idempotency-Key": f"nightly-{path}"}
    first = world.upload(USERS_WITH_PASSWORDS, tenant=TENANT_A, path=path, headers=key)[1]["result"]["referenceId"]
    # When tenant B sends the same key with the same bytes
    status, body = world.upload(USERS_WITH_PASSWORDS, tenant=TENANT_B, path=path, headers=key)
    # Then B gets a job of its own, not A's answer; neither can read the other's
    second = body["result"]["referenceId"]
    assert status == 200 and second != first
    assert world.read(READ_ROUTES[0], second, TENANT_B)[0] == 200
    assert world.read(READ_ROUTES[0], second, TENANT_A)[0] == 404
    assert world.read(READ_ROUTES[0], first, TENANT_B)[0] == 404


def test_another_tenants_idempotency_key_with_other_bytes_is_no_conflict(world: World) -> None:
    # Given tenant A's upload under an Idempotency-Key
    key = {"Idempotency-Key": "shared-conflict-probe"}
    assert world.upload(USERS_WITH_PASSWORDS, tenant=TENANT_A, headers=key)[0] == 200
    # When tenant B uses the key for other bytes
    status, body = world.upload(b"group_name\r\nclass-1\r\n", tenant=TENANT_B, headers=key)
    # Then B is not told the key exists (no 409 revealing A's use of it)
    assert status == 200, body


# -- secrets ----------------------------------------------------------------------------------
@dataclass
class Traces:
    """Everything a secret could leak into, after one complete flow."""

    secrets: tuple[str, ...]
    logs: str
    report: str
    status_bodies: str
    metadata: str
    jobs_table: str
    roster_table: str
    events: str


@pytest.fixture(scope="module")
def traces(world: World) -> Iterator[Traces]:
    """A token issued for a client secret, a fanned-out upload of users with passwords under that
    token and an Idempotency-Key, its import, status and report; logs captured throughout."""
    buffer = io.StringIO()
    previous = logger.registered_handler.setStream(buffer)  # type: ignore[arg-type]
    cognito = FakeCognito(LocalIssuer(ISSUER_URL, CLIENTS))
    endpoint, token_handler.endpoint = token_handler.endpoint, cognito.endpoint()
    try:
        form = f"grant_type=client_credentials&client_id={CLIENT_ID}&client_secret={CLIENT_SECRET}".encode()
        token = response_json(token_handler.lambda_handler(token_event(form), FakeLambdaContext()))["access_token"]
        headers = {"authorization": f"Bearer {token}", "Idempotency-Key": "secret-flow"}
        status, body = world.upload(USERS_WITH_PASSWORDS, tenant=CLIENT_ID, headers=headers)
        assert status == 200, body
        ref = body["result"]["referenceId"]
        world.import_all(ref, import_chunk_rows=1)
        bodies = [world.read(route, ref, CLIENT_ID)[1] for route in READ_ROUTES]
        report = requests.get(bodies[2]["result"]["url"], timeout=10).text
    finally:
        token_handler.endpoint = endpoint
        logger.registered_handler.setStream(previous)
    bucket = world.stack.settings.bucket_name
    metadata = [world.stack.s3.head_object(Bucket=bucket, Key=key)["Metadata"] for key in sorted(world.keys())]
    tables = boto3.resource("dynamodb")
    yield Traces(
        secrets=(CLIENT_SECRET, token, *PASSWORDS),
        logs=buffer.getvalue(),
        report=report,
        status_bodies=json.dumps(bodies),
        metadata=json.dumps(metadata),
        jobs_table=json.dumps(tables.Table(world.stack.settings.jobs_table).scan()["Items"], default=str),
        roster_table=json.dumps(tables.Table(world.stack.settings.roster_table).scan()["Items"], default=str),
        events=json.dumps(world.published),
    )


def leaked(secrets: tuple[str, ...], text: str) -> list[str]:
    return [secret for secret in secrets if secret in text]


def test_logs_of_the_whole_flow_hold_no_secret(traces: Traces) -> None:
    # Given the logs of token, upload, import and status
    # Then they tell the story without a secret, token or password
    assert '"token issued"' in traces.logs and '"upload stored"' in traces.logs and '"chunk applied"' in traces.logs
    assert leaked(traces.secrets, traces.logs) == []


def test_result_report_holds_no_password(traces: Traces) -> None:
    # Given the report of a file with passwords, one of them rejected
    # Then it names the rows and the failure but no password
    assert "jdoe" in traces.report and "WEAK_PASSWORD" in traces.report
    assert leaked(traces.secrets, traces.report) == []


def test_status_and_download_bodies_hold_no_secret(traces: Traces) -> None:
    assert '"WEAK_PASSWORD"' in traces.status_bodies
    assert leaked(traces.secrets, traces.status_bodies) == []


def test_s3_object_metadata_holds_no_secret(traces: Traces) -> None:
    assert '"tenant"' in traces.metadata
    assert leaked(traces.secrets, traces.metadata) == []


def test_jobs_table_holds_no_secret(traces: Traces) -> None:
    assert "WEAK_PASSWORD" in traces.jobs_table
    assert leaked(traces.secrets, traces.jobs_table) == []


def test_roster_table_holds_passwords_only_as_hashes(traces: Traces) -> None:
    assert "jdoe" in traces.roster_table
    assert leaked(traces.secrets, traces.roster_table) == []


def test_eventbridge_details_hold_no_secret(traces: Traces) -> None:
    assert '"COMPLETED_WITH_ERRORS"' in traces.events
    assert leaked(traces.secrets, traces.events) == []


# -- object keys ------------------------------------------------------------------------------
HOSTILE_NAMES = [
    "../../x.csv",
    "..%2f..%2fx.csv",
    "%2e%2e/%2e%2e/x.csv",
    "/etc/cron.d/x.csv",
    "C:\\Windows\\x.csv",
    "..\\..\\x.csv",
    "import-csv/processed/other.csv",
    "x.csv\x00.png",
    "nul\x00/../y.csv",
]


@pytest.mark.parametrize("file_name", HOSTILE_NAMES, ids=lambda name: repr(name))
def test_hostile_file_name_never_shapes_the_object_key(world: World, file_name: str) -> None:
    # Given the keys already in the bucket
    before = world.keys()
    # When a file is uploaded under a hostile name
    status, body = world.upload(b"group_name\r\nclass-1\r\n", file_name=file_name)
    # Then it is stored, and the only new key is pending/<its referenceId>.csv
    assert status == 200, body
    ref = body["result"]["referenceId"]
    assert world.keys() - before == {f"{PENDING_PREFIX}{ref}.csv"}
    assert PENDING_KEY.fullmatch(f"{PENDING_PREFIX}{ref}.csv")


@pytest.mark.parametrize("file_name", [n for n in HOSTILE_NAMES if "\x00" not in n], ids=lambda name: repr(name))
def test_hostile_file_name_never_shapes_the_presigned_post_key(world: World, file_name: str) -> None:
    # Given a presigned-POST request for a file with a hostile name
    event = http_event("POST", "/api/v1/upload/url", body=json.dumps({"fileName": file_name}))
    # When the route answers
    response = upload_handler.lambda_handler(event, FakeLambdaContext())
    # Then the signed key is pending/<referenceId>.csv whatever the name
    result = response_json(response)["result"]
    assert result["fields"]["key"] == f"{PENDING_PREFIX}{result['referenceId']}.csv"


# -- formula cells --------------------------------------------------------------------------------
def test_formula_cells_of_an_uploaded_file_are_neutralised_in_the_downloaded_report(world: World) -> None:
    # Given an uploaded users file whose keys and unknown column names a spreadsheet would run
    header = ["user_username", "user_name", "user_password", '=HYPERLINK("http://x")', "\tTAB", "\rCR", "@COL"]
    keys = ["=1+1", "+1", "-1", "@SUM(A1)"]
    lines = [header, *[[key, "Name", "Secret#123", "", "", "", ""] for key in keys]]
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(lines)
    status, body = world.upload(out.getvalue().encode())
    assert status == 200, body
    ref = body["result"]["referenceId"]
    # When it is imported and its report downloaded through the download route
    world.import_all(ref)
    url = world.read(READ_ROUTES[2], ref, TENANT_A)[1]["result"]["url"]
    report = list(csv.reader(io.StringIO(requests.get(url, timeout=10).text)))
    # Then no cell starts like a formula: each such key and column name got a leading quote
    cells = [cell for line in report for cell in line]
    assert [cell for cell in cells if cell.startswith(FORMULA_STARTS)] == []
    assert {"'" + key for key in keys} <= set(cells)
    assert {"'" + name for name in header[3:]} <= set(cells)
