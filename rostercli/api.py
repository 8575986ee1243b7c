"""HTTP client of the Rostering Upload API: token (cached), the three upload routes, status, report download.

Retries: a ``requests`` session whose urllib3 ``Retry`` repeats connection errors, 429 and 5xx with
exponential backoff, for every method, POST included, and never a 4xx. Repeating ``POST /api/v1/upload``
is safe only because every upload carries an ``Idempotency-Key`` (the server answers a repeat with the first
answer). The presigned POST carries no key; a repeat rewrites the same object (the key and metadata are fixed
by the signed policy), and the importer is safe against a duplicate S3 event.
"""

from __future__ import annotations

import io
import re
import time
from collections.abc import Callable
from typing import Any, BinaryIO
from urllib.parse import quote

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from rostercli.config import Settings
from rostercli.plan import Route, Upload
from rostercli.tokens import Credentials, TokenCache

TERMINAL = frozenset({"COMPLETED", "COMPLETED_WITH_ERRORS", "FAILED", "DISCARDED", "ABORTED"})
# Where waiting stops without a terminal state: the import waits for approve or discard.
HELD = "HELD"
RETRY_STATUSES = (429, 500, 502, 503, 504)
TIMEOUT = (10, 120)  # connect, read (seconds)

Progress = Callable[[int, int], None]  # called with (bytes sent so far, body size)


class ApiError(Exception):
    """A request that did not succeed; ``status`` is the HTTP status (None when the server was not reached)."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code


class AuthenticationFailed(ApiError):
    """The token request was refused (400/401) or the API refused the token (401/403)."""


class Rejected(ApiError):
    """The API answered 4xx: the upload (or the reference) was refused, with the server's message."""


def make_session(*, retries: int = 5, backoff_factor: float = 0.5) -> requests.Session:
    retry = Retry(
        total=retries,
        backoff_factor=backoff_factor,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=None,  # every method: uploads carry an Idempotency-Key
        raise_on_status=False,  # after the last try, hand back the last answer
        respect_retry_after_header=True,
    )
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = "roster-cli/0.1"
    return session


class _ProgressBody(io.BytesIO):
    """A request body that reports how far it has been read; urllib3 rewinds it (seek) before a retry."""

    def __init__(self, data: bytes, progress: Progress | None) -> None:
        super().__init__(data)
        self._size = len(data)
        self._progress = progress

    def read(self, size: int | None = -1, /) -> bytes:
        chunk = super().read(size)
        if self._progress is not None:
            self._progress(self.tell(), self._size)
        return chunk


def encode_multipart(fields: list[tuple[str, str]], file: tuple[str, bytes, str]) -> tuple[bytes, str]:
    """The multipart/form-data body (``fields`` first, the ``file`` part last) as requests encodes it."""
    prepared = requests.Request("POST", "http://multipart.invalid/", data=fields, files={"file": file}).prepare()
    assert isinstance(prepared.body, bytes)
    return prepared.body, str(prepared.headers["Content-Type"])


def error_message(response: requests.Response) -> tuple[str, str | None]:
    """The server's sentence and code: API JSON (`message`/`code`), OAuth JSON (`error`), or S3 XML."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        if "error" in body:
            description = body.get("error_description")
            return (f"{body['error']}: {description}" if description else str(body["error"])), str(body["error"])
        if "message" in body:
            code = body.get("code")
            return str(body["message"]), str(code) if code else None
    text = response.text
    s3_message = re.search(r"<Message>(.*?)</Message>", text, re.S)
    s3_code = re.search(r"<Code>(.*?)</Code>", text, re.S)
    if s3_message:
        return s3_message.group(1).strip(), s3_code.group(1).strip() if s3_code else None
    return (text.strip()[:300] or response.reason or f"HTTP {response.status_code}"), None


def raise_for(response: requests.Response, what: str) -> None:
    if response.status_code < 400:
        return
    message, code = error_message(response)
    status = response.status_code
    label = f"{status} {code}" if code else str(status)
    if status in (401, 403):
        raise AuthenticationFailed(f"{what} refused ({label}): {message}", status=status, code=code)
    if status < 500:
        raise Rejected(f"{what} rejected ({label}): {message}", status=status, code=code)
    raise ApiError(f"{what} failed ({label}): {message}", status=status, code=code)


class Client:
    def __init__(
        self,
        settings: Settings,
        *,
        session: requests.Session | None = None,
        cache: TokenCache | None = None,
    ) -> None:
        self._settings = settings
        self._session = session or make_session()
        self._cache = cache if cache is not None else TokenCache(settings.cache_dir)
        self._credentials = Credentials(settings.api_url, settings.client_id, settings.client_secret)

    # -- token ---------------------------------------------------------------------------------------------

    def token(self, *, fresh: bool = False) -> str:
        """An access token, from the cache unless ``fresh`` or about to expire."""
        api_url, client_id = self._settings.api_url, self._settings.client_id
        if not fresh and (cached := self._cache.get(self._credentials)):
            return cached
        response = self._send(
            "POST",
            f"{api_url}/api/v1/oauth2/tokens",
            data={"grant_type": "client_credentials"},
            auth=(client_id, self._settings.client_secret),
        )
        if response.status_code in (400, 401):
            message, code = error_message(response)
            raise AuthenticationFailed(
                f"token request refused ({message}): check the client id and secret",
                status=response.status_code,
                code=code,
            )
        raise_for(response, "token request")
        answer = response.json()
        token = str(answer["access_token"])
        self._cache.put(self._credentials, token, float(answer.get("expires_in", 3600)))
        return token

    # -- routes --------------------------------------------------------------------------------------------

    def upload(
        self,
        upload: Upload,
        *,
        dry_run: bool,
        idempotency_key: str | None,
        progress: Progress | None = None,
        change_threshold: float | None = None,
    ) -> dict[str, Any]:
        """Send the file by its planned route; the answer is the route's ``result`` (``referenceId``...)."""
        if upload.route is Route.PRESIGNED:
            return self._upload_presigned(upload, dry_run=dry_run, progress=progress, change_threshold=change_threshold)
        fields = [("dryRun", "true" if dry_run else "false")]
        if change_threshold is not None:
            fields.append(("changeThreshold", f"{change_threshold:g}"))
        body, content_type = encode_multipart(fields, (upload.part_name, upload.payload, upload.part_type))
        headers = {"Content-Type": content_type}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        response = self._authorized(
            "POST", "/api/v1/upload", headers=headers, body=lambda: _ProgressBody(body, progress)
        )
        raise_for(response, "upload")
        return dict(response.json()["result"])

    def status(self, reference_id: str) -> dict[str, Any]:
        response = self._authorized("GET", f"/api/v1/status/{quote(reference_id, safe='')}")
        raise_for(response, "status request")
        return dict(response.json()["result"])

    def imports(self, *, status: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        """The tenant's imports, newest first (every page, or the first ``limit``)."""
        found: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            query = {"status": status, "limit": str(min(limit or 200, 200)), "nextToken": token}
            response = self._authorized("GET", "/api/v1/imports", params={k: v for k, v in query.items() if v})
            raise_for(response, "imports request")
            result = response.json()["result"]
            found += result["imports"]
            token = result.get("nextToken")
            if token is None or (limit is not None and len(found) >= limit):
                return found[:limit] if limit is not None else found

    def act(self, reference_id: str, action: str) -> dict[str, Any]:
        """``approve``, ``discard`` or ``abort`` an import; the job after the action."""
        response = self._authorized("POST", f"/api/v1/imports/{quote(reference_id, safe='')}/{action}")
        raise_for(response, f"{action} request")
        return dict(response.json()["result"])

    def webhook(self, method: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """``PUT`` (register ``body``), ``GET`` or ``DELETE`` the tenant's webhook."""
        response = self._authorized(method, "/api/v1/webhook", json=body)
        raise_for(response, "webhook request")
        return dict(response.json()["result"])

    def wait(
        self,
        reference_id: str,
        *,
        interval: float,
        timeout: float,
        on_status: Callable[[dict[str, Any]], None] = lambda job: None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> dict[str, Any]:
        """Poll until the job is terminal or ``timeout`` seconds have passed; the last job seen."""
        deadline = clock() + timeout
        while True:
            job = self.status(reference_id)
            on_status(job)
            if job.get("status") in TERMINAL or job.get("status") == HELD or clock() >= deadline:
                return job
            sleep(interval)

    def download_report(self, reference_id: str, sink: BinaryIO) -> int:
        """Write the result report to ``sink``; the number of bytes written."""
        response = self._authorized("GET", f"/api/v1/download/{quote(reference_id, safe='')}")
        raise_for(response, "download request")
        url = str(response.json()["result"]["url"])
        with self._send("GET", url, stream=True) as report:
            raise_for(report, "report download")
            written = 0
            for chunk in report.iter_content(chunk_size=65536):
                sink.write(chunk)
                written += len(chunk)
        return written

    # -- plumbing ------------------------------------------------------------------------------------------

    def _upload_presigned(
        self, upload: Upload, *, dry_run: bool, progress: Progress | None, change_threshold: float | None
    ) -> dict[str, Any]:
        options: dict[str, Any] = {"fileName": upload.file_name, "dryRun": dry_run}
        if change_threshold is not None:
            options["changeThreshold"] = change_threshold
        response = self._authorized("POST", "/api/v1/upload/url", json=options)
        raise_for(response, "upload URL request")
        grant = dict(response.json()["result"])
        max_bytes = int(grant.get("maxBytes") or 0)
        if max_bytes and len(upload.payload) > max_bytes:
            raise Rejected(
                f"The file is {len(upload.payload)} bytes, over the limit of {max_bytes} bytes.",
                status=413,
                code="FILE_TOO_LARGE",
            )
        fields = [(str(name), str(value)) for name, value in grant["fields"].items()]
        body, content_type = encode_multipart(fields, (upload.part_name, upload.payload, upload.part_type))
        posted = self._send(
            "POST", str(grant["url"]), data=_ProgressBody(body, progress), headers={"Content-Type": content_type}
        )
        raise_for(posted, "presigned upload")
        return {
            "referenceId": grant["referenceId"],
            "message": f"File uploaded through the presigned URL (expires in {grant.get('expiresIn')} s)",
        }

    def _authorized(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        body: Callable[[], BinaryIO] | None = None,
        json: Any = None,
        params: dict[str, str] | None = None,
    ) -> requests.Response:
        """Send with a bearer token; a cached token the API refuses (401) is replaced once by a fresh one."""
        fresh = False
        while True:
            token = self.token(fresh=fresh)
            response = self._send(
                method,
                f"{self._settings.api_url}{path}",
                headers={**(headers or {}), "Authorization": f"Bearer {token}"},
                data=body() if body else None,
                json=json,
                params=params,
            )
            if response.status_code != 401 or fresh:
                return response
            self._cache.forget(self._credentials)
            fresh = True

    def _send(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        try:
            return self._session.request(method, url, timeout=TIMEOUT, **kwargs)
        except requests.RequestException as error:
            where = url.split("?")[0]  # a signed URL's query is a credential
            raise ApiError(f"cannot reach {where} ({type(error).__name__}, after retries)") from None
