"""Importer figures (docs/PERFORMANCE.md 5-8): the planning pass, DynamoDB requests per row,
memory growth of the planning invocation, and password hashing on two workers.

``python -m bench.importer probe ...`` is the child process of ``importer_memory_growth``: one
importer invocation against a moto server, printing its peak RSS.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import resource
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, replace
from typing import Any

from bench.harness import Figure, interleaved

MB = 1_000_000
MIB = 1024 * 1024
HEADER = b"user_username,user_name,user_password,user_email,user_language,user_active,user_role\n"
ROW = b"user%07d,Name Surname %07d,Passw0rd!x,user%07d@example.org,en-US,TRUE,ADMIN\n"
PROBE_LOG2_N = 2  # store_calls_per_1k_rows: a cheap hash; the request count does not depend on it


def users_file(*, rows: int | None = None, size: int | None = None) -> bytes:
    """A users file of ``rows`` data rows, or of at least ``size`` bytes; every row is valid."""
    body = bytearray(HEADER)
    i = 0
    while (rows is not None and i < rows) or (size is not None and len(body) < size):
        body += ROW % (i, i, i)
        i += 1
    return bytes(body)


def csv_pass(data: bytes) -> int:
    return sum(1 for _ in csv.reader(io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig", newline="")))


# -- 5. plan_100k_users_time --------------------------------------------------------------------
def plan_users(repeat: int) -> list[Figure]:
    """``planning.plan`` with ``Planner.start`` (what ``Importer._plan`` runs) over an in-memory
    stream instead of the S3 body, every chunk consumed; floor: one csv.reader pass. Both run in a
    fresh child process (``python -m bench.importer plan``), as the importer runs in a process of
    its own: in this one, the earlier figures' moto state would make every garbage collection of
    the planner's objects scan it too."""
    answer = subprocess.run(
        [sys.executable, "-m", "bench.importer", "plan", str(repeat)], capture_output=True, text=True, check=True
    )
    return [Figure(**json.loads(answer.stdout.splitlines()[-1]))]


def _plan_users(repeat: int) -> Figure:
    from lambdas.importer import planning
    from lambdas.roster.planner import Planner

    data = users_file(rows=100_000)

    def measured() -> None:
        _, chunks = planning.plan(io.BytesIO(data), Planner.start, seed="bench", chunk_rows=2000)
        rows = sum(len(chunk) for chunk in chunks)
        assert rows == 100_000, rows

    def floor() -> None:
        csv_pass(data)

    return interleaved(measured, floor, repeat).figure("plan_100k_users_time", 6.0)


# -- 6. store_calls_per_1k_rows -----------------------------------------------------------------
def _moto_stack() -> Any:
    """The import stack in moto (inside ``mock_aws``), its queue URL in the environment the
    importer's handler checks at import."""
    import boto3

    from lambdas.common.config import Env, Settings
    from local.resources import create_bucket, create_tables
    from testkit.import_stack import build_import_stack

    settings = Settings(password_hash_log2_n=PROBE_LOG2_N)
    s3 = boto3.client("s3")
    create_bucket(s3, settings)
    create_tables(boto3.client("dynamodb"), settings)
    stack = build_import_stack({"s3": s3}, settings)
    os.environ[Env.IMPORT_QUEUE_URL] = stack.settings.import_queue_url
    return stack


def store_calls(rows: int = 10_000) -> list[Figure]:
    """The real importer end to end in moto: the S3 event plans and fans out, then every chunk
    message is drained from the queue and handled in batches of the importer's event source
    (``IMPORT_QUEUE``). Every DynamoDB request of the importer's resource (roster and jobs tables)
    is counted."""
    from moto import mock_aws

    from lambdas.common.schema import IMPORT_QUEUE
    from local import moto_dynamodb
    from testkit.context import FakeLambdaContext
    from testkit.import_stack import sqs_event, upload_event

    moto_dynamodb.install()
    with mock_aws():
        stack = _moto_stack()
        from lambdas.handlers.importer import process_batch

        reference_id = stack.seed_upload(users_file(rows=rows))
        importer = stack.importer()
        requests: list[str] = []
        stack.dynamodb.meta.client.meta.events.register(
            "before-call.dynamodb.*", lambda model, **_: requests.append(model.name)
        )
        context = FakeLambdaContext()
        batch = IMPORT_QUEUE.reader().batch_size
        started = time.perf_counter()
        process_batch(upload_event(reference_id), context, importer)  # type: ignore[arg-type]
        while bodies := stack.queue_bodies():
            for start in range(0, len(bodies), batch):
                answer = process_batch(sqs_event(bodies[start : start + batch]), context, importer)  # type: ignore[arg-type]
                assert not answer["batchItemFailures"], answer
        elapsed = time.perf_counter() - started
        job = stack.job(reference_id)
        assert job["status"] == "COMPLETED", job["status"]
        assert int(job["summary"]["created"]) == rows, job["summary"]
    floor = math.ceil(rows / 100) + math.ceil(rows / 100)  # conditional TransactWriteItems + BatchGetItem
    calls = {name: requests.count(name) for name in sorted(set(requests))}
    per_1k = len(requests) / (rows / 1000)
    note = (
        f"{len(requests)} requests for {rows} new users ({', '.join(f'{k} {v}' for k, v in calls.items())}); "
        f"passwords are mandatory on create, hashed with log2_n={PROBE_LOG2_N} here (the count does not "
        f"depend on the cost); {elapsed:.1f} s in moto"
    )
    return [Figure("store_calls_per_1k_rows", per_1k, floor / (rows / 1000), 1.25, "requests/1k rows", 0.0, note=note)]


# -- 7. importer_memory_growth ------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def moto_server() -> Iterator[str]:
    """A moto server in its own process; yields its endpoint URL."""
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        yield endpoint
    finally:
        server.terminate()
        server.wait(10)


def probe(reference_id: str, max_upload_bytes: int) -> None:
    """Child process: one S3-event invocation of the importer (plan + fan out), then its peak RSS."""
    import boto3

    from lambdas.common.config import PENDING_PREFIX, Settings
    from lambdas.importer.messages import UploadArrived
    from lambdas.importer.pipeline import Importer
    from lambdas.importer.wiring import roster_services

    settings = replace(Settings.from_env(), max_upload_bytes=max_upload_bytes)
    dynamodb = boto3.resource("dynamodb")
    importer = Importer.build(settings, roster_services(settings, dynamodb), dynamodb=dynamodb)
    before = peak_rss()
    importer.handle(UploadArrived(key=f"{PENDING_PREFIX}{reference_id}.csv"))
    print(peak_rss(), before)


def peak_rss() -> int:
    """Peak RSS of this process in bytes. ``VmHWM`` is the high-water mark of this program's own
    address space; ``ru_maxrss`` on Linux also carries the parent's peak across fork and exec
    (exec_mmap folds the old address space's high-water mark into it), so a child of a big
    parent would read the parent's peak. ``ru_maxrss`` is the fallback without /proc."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _server_stack() -> Any:
    """The import resources on the moto server ``AWS_ENDPOINT_URL`` names, without the bucket's
    notification (the bench hands the importer its events)."""
    import boto3

    from lambdas.common.config import Settings
    from local.resources import create_bucket, create_import_queue, create_tables
    from testkit.import_stack import ImportStack

    settings = Settings()
    s3, sqs = boto3.client("s3"), boto3.client("sqs")
    create_bucket(s3, settings)
    create_tables(boto3.client("dynamodb"), settings)
    queue_url = create_import_queue(sqs, s3, settings)["queue_url"]
    s3.put_bucket_notification_configuration(Bucket=settings.bucket_name, NotificationConfiguration={})
    boto3.client("events").create_event_bus(Name=settings.event_bus_name)
    return ImportStack(
        settings=replace(settings, import_queue_url=queue_url), s3=s3, sqs=sqs, dynamodb=boto3.resource("dynamodb")
    )


def memory_growth(repeat: int, small: int = 10 * MB, large: int = 100 * MB) -> list[Figure]:
    limit = 2 * large
    with moto_server() as endpoint:
        env = {**os.environ, "AWS_ENDPOINT_URL": endpoint}
        os.environ["AWS_ENDPOINT_URL"] = endpoint
        try:
            stack = _server_stack()
            env["IMPORT_QUEUE_URL"] = stack.settings.import_queue_url
            files = {size: users_file(size=size) for size in (small, large)}
            peaks: dict[int, list[int]] = {small: [], large: []}
            for run in range(repeat):
                for size, content in files.items():
                    # A tenant of its own per upload: each is the head of its tenant's line and is
                    # planned at once (the earlier uploads are never imported, so they hold their line).
                    tenant = f"bench-{run}-{size}"
                    reference_id = stack.seed_upload(content, tenant=tenant)
                    answer = subprocess.run(
                        [sys.executable, "-m", "bench.importer", "probe", reference_id, str(limit)],
                        env=env,
                        capture_output=True,
                        text=True,
                        check=True,
                    )
                    peaks[size].append(int(answer.stdout.split()[-2]))
                    job = stack.job(reference_id, tenant)
                    assert job.get("dispatched") and int(job["chunksTotal"]) > 1, job
        finally:
            os.environ.pop("AWS_ENDPOINT_URL", None)
    growths = [big - little for big, little in zip(peaks[large], peaks[small], strict=True)]
    growth = statistics.median(growths) / MB
    spread = (max(growths) - min(growths)) / MB / growth if growth else 0.0
    rows = {size: content.count(b"\n") - 1 for size, content in files.items()}
    note = (
        f"peak RSS {statistics.median(peaks[small]) / MB:.0f} MB ({rows[small]} rows) -> "
        f"{statistics.median(peaks[large]) / MB:.0f} MB ({rows[large]} rows), fresh process each, moto server"
    )
    return [Figure("importer_memory_growth", growth, 16.0, 1.0, "MB", spread, note=note)]


# -- 8. password_rows_scaling -------------------------------------------------------------------
def password_scaling(repeat: int, passwords: int = 40) -> list[Figure]:
    from lambdas.roster.passwords import PasswordHasher

    batch = [f"Passw0rd!{n}" for n in range(passwords)]
    one, two = PasswordHasher(14, workers=1), PasswordHasher(14, workers=2)
    pairs = interleaved(lambda: two.hash_many(batch), lambda: one.hash_many(batch), repeat)
    seconds_two, seconds_one = statistics.median(pairs.ours), statistics.median(pairs.base)
    rate_two, rate_one = passwords / seconds_two, passwords / seconds_one
    spread = (max(pairs.ours) - min(pairs.ours)) / seconds_two
    note = (
        f"scrypt n=2**14 r=8 p=1, {passwords} passwords per run; {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.2f} (two workers need two idle cores)"
    )
    return [
        Figure(
            "password_rows_scaling",
            rate_two,
            rate_one,
            1.7,
            "rows/s",
            spread,
            higher_is_better=True,
            note=note,
            paired_ratio=1 / pairs.ratio,  # rates: the inverse of the paired ratio of seconds
        )
    ]


def run(quick: bool = False) -> list[Figure]:
    figures = plan_users(3 if quick else 7)
    figures += store_calls(2000 if quick else 10_000)
    figures += memory_growth(1, 5 * MB, 20 * MB) if quick else memory_growth(2)
    figures += password_scaling(1 if quick else 3, 8 if quick else 40)
    return figures


if __name__ == "__main__":
    if sys.argv[1:2] == ["probe"]:
        probe(sys.argv[2], int(sys.argv[3]))
    elif sys.argv[1:2] == ["plan"]:
        print(json.dumps(asdict(_plan_users(int(sys.argv[2])))))
    else:
        for figure in run(quick="--quick" in sys.argv):
            print(figure.record())
