"""Upload-route figures (PERFORMANCE.md 1-3 and 9): the real handler on real events.

Storage is a network call in production and no CPU of ours, and the floors do not include it
either, so both sides run without it: the stores below only read the body as a socket would.
"""

from __future__ import annotations

import asyncio
import binascii
import csv
import gzip
import io
import json
import tracemalloc
import zlib
from typing import Any

from bench.harness import Figure, interleaved
from lambdas.intake.objects import BufferReader
from testkit.apigw import http_event

MB = 1_000_000
MIB = 1024 * 1024
ROW = b"user%07d,Name Surname %07d,Passw0rd!x,user%07d@example.org,en-US,TRUE,ADMIN\n"
HEADER = b"user_username,user_name,user_password,user_email,user_language,user_active,user_role\n"


def users_csv(size: int) -> bytes:
    body = bytearray(HEADER)
    i = 0
    while len(body) < size:
        body += ROW % (i, i, i)
        i += 1
    return bytes(body)


def multipart(name: str, content: bytes, part_type: str) -> tuple[bytes, str]:
    boundary = "------------------------d74496d66958873e"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
        f"Content-Type: {part_type}\r\n\r\n"
    ).encode()
    return head + content + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


class SendingObjects:
    def put_pending(self, reference_id: str, content: Any, **_: Any) -> None:
        reader = BufferReader(content)
        chunk = bytearray(64 * 1024)
        while reader.readinto(chunk):
            pass


class MemoryJobs:
    def __init__(self) -> None:
        self.items: dict[str, Any] = {}

    def create_pending(self, **item: Any) -> None:
        self.items[item["reference_id"]] = item


def handler_call(event: dict[str, Any]) -> Any:
    from lambdas.handlers import upload as handler
    from lambdas.intake.service import IntakeService
    from testkit.context import FakeLambdaContext

    service = IntakeService(handler.settings, jobs=MemoryJobs(), objects=SendingObjects())  # type: ignore[arg-type]
    handler.service = lambda: service  # type: ignore[assignment]
    context = FakeLambdaContext()

    def call() -> Any:
        response = handler.lambda_handler(event, context)
        assert response["statusCode"] == 200, response
        return response

    return call


def csv_pass(data: bytes) -> int:
    return sum(1 for _ in csv.reader(io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig", newline="")))


def upload_direct(repeat: int) -> list[Figure]:
    content = users_csv(4 * MB)
    body, content_type = multipart("users.csv", content, "text/csv")
    event = http_event("POST", "/api/v1/upload", body=body, headers={"content-type": content_type})
    call = handler_call(event)

    def floor() -> None:
        csv_pass(binascii.a2b_base64(event["body"]))

    pairs = interleaved(call, floor, repeat)
    tracemalloc.start()
    call()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return [
        pairs.figure("upload_direct_4mb_time", 1.3),
        Figure("upload_direct_4mb_memory", peak / MB, len(content) / MB, 1.5, "MB", 0.0, note="tracemalloc peak"),
    ]


def upload_gzip(repeat: int) -> list[Figure]:
    content = users_csv(10 * MIB - 200)
    body, content_type = multipart("users.csv.gz", gzip.compress(content, 6), "application/gzip")
    event = http_event("POST", "/api/v1/upload", body=body, headers={"content-type": content_type})
    call = handler_call(event)
    compressed = gzip.compress(content, 6)

    def floor() -> None:
        binascii.a2b_base64(event["body"])
        csv_pass(zlib.decompress(compressed, wbits=31))

    return [interleaved(call, floor, repeat).figure("upload_gzip_10mib_time", 1.3)]


def vs_starlette(repeat: int) -> list[Figure]:
    from starlette.requests import Request

    from lambdas.intake.content import check_csv_content
    from lambdas.intake.form import read_upload_form

    content = users_csv(4 * MB)
    body, content_type = multipart("users.csv", content, "text/csv")
    encoded = binascii.b2a_base64(body, newline=False).decode()

    def ours() -> None:
        form = read_upload_form(encoded, is_base64=True, content_type=content_type, max_bytes=10 * MIB)
        check_csv_content(form.content)

    def starlette() -> None:
        raw = binascii.a2b_base64(encoded)

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": raw, "more_body": False}

        async def parse() -> None:
            scope = {"type": "http", "method": "POST", "headers": [(b"content-type", content_type.encode())]}
            form = await Request(scope, receive).form(max_part_size=10 * MIB)
            upload: Any = form["file"]  # an UploadFile (typed loosely: starlette is a bench-only dependency)
            data = await upload.read()
            check_csv_content(data)
            await form.close()

        asyncio.run(parse())

    return [interleaved(ours, starlette, repeat).figure("vs_starlette_form", 1.0)]


if __name__ == "__main__":
    for figure in upload_direct(5) + upload_gzip(3) + vs_starlette(3):
        print(json.dumps(figure.record()))
