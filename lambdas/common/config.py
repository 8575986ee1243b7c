"""One typed configuration object, built from the environment once at cold start."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from lambdas.common import schema

MIB = 1024 * 1024
DEFAULT_MAX_UPLOAD_BYTES = 10 * MIB

# Object key layout in the uploads bucket (docs/IMPORT.md).
PENDING_PREFIX = "import-csv/pending/"
PROCESSED_PREFIX = "import-csv/processed/"
FAILED_PREFIX = "import-csv/failed/"
RESULTS_PREFIX = "import-csv/results/"
# Planned rows of a fanned-out import and each chunk's outcomes. They hold passwords: same short
# lifecycle as PENDING_PREFIX; the importer deletes them once the job is finished.
CHUNKS_PREFIX = "import-csv/chunks/"

# The local stack's resource names: defaults of a ``Settings`` built in code (tests, the local
# stack). ``Settings.from_env`` never falls back to them: a function started without a name it
# needs fails its cold start (``ConfigurationError``) instead of writing to a local name.
DEFAULT_BUCKET_NAME = schema.BUCKET_LOCAL_NAME
DEFAULT_JOBS_TABLE = schema.JOBS_TABLE.local_name
DEFAULT_ROSTER_TABLE = schema.ROSTER_TABLE.local_name
DEFAULT_IDEMPOTENCY_TABLE = schema.IDEMPOTENCY_TABLE.local_name
DEFAULT_TENANTS_TABLE = schema.TENANTS_TABLE.local_name
DEFAULT_EVENT_BUS = schema.EVENT_BUS_LOCAL_NAME
DEFAULT_WEBHOOK_KEY = schema.WEBHOOK_KEY_LOCAL_ALIAS


class Env:
    """The environment variable names ``Settings.from_env`` reads (the CDK stack sets them from here)."""

    BUCKET_NAME = "BUCKET_NAME"
    JOBS_TABLE_NAME = "JOBS_TABLE_NAME"
    ROSTER_TABLE_NAME = "ROSTER_TABLE_NAME"
    IDEMPOTENCY_TABLE_NAME = "IDEMPOTENCY_TABLE_NAME"
    EVENT_BUS_NAME = "EVENT_BUS_NAME"
    IMPORT_QUEUE_URL = "IMPORT_QUEUE_URL"
    MAX_UPLOAD_BYTES = "MAX_UPLOAD_BYTES"
    UPLOAD_URL_EXPIRY_SECONDS = "UPLOAD_URL_EXPIRY_SECONDS"
    DOWNLOAD_URL_EXPIRY_SECONDS = "DOWNLOAD_URL_EXPIRY_SECONDS"
    DIRECT_UPLOAD_DEADLINE_SECONDS = "DIRECT_UPLOAD_DEADLINE_SECONDS"
    TOKEN_ENDPOINT_URL = "TOKEN_ENDPOINT_URL"  # noqa: S105 - a variable name
    TOKEN_ISSUER_URL = "TOKEN_ISSUER_URL"  # noqa: S105 - a variable name
    PASSWORD_HASH_LOG2_N = "PASSWORD_HASH_LOG2_N"  # noqa: S105 - a variable name
    IMPORT_LEASE_SECONDS = "IMPORT_LEASE_SECONDS"
    IMPORT_CHUNK_ROWS = "IMPORT_CHUNK_ROWS"
    TENANTS_TABLE_NAME = "TENANTS_TABLE_NAME"
    WEBHOOK_KEY_ID = "WEBHOOK_KEY_ID"
    WEBHOOK_QUEUE_URL = "WEBHOOK_QUEUE_URL"
    WEBHOOK_ALLOW_LOOPBACK = "WEBHOOK_ALLOW_LOOPBACK"
    WEBHOOK_TIMEOUT_SECONDS = "WEBHOOK_TIMEOUT_SECONDS"
    WEBHOOK_FIRST_RETRY_SECONDS = "WEBHOOK_FIRST_RETRY_SECONDS"
    WEBHOOK_MAX_RETRY_SECONDS = "WEBHOOK_MAX_RETRY_SECONDS"
    WEBHOOK_RETRY_WINDOW_SECONDS = "WEBHOOK_RETRY_WINDOW_SECONDS"
    IMPORT_LINE_RECHECK_SECONDS = "IMPORT_LINE_RECHECK_SECONDS"


class ConfigurationError(RuntimeError):
    """The environment lacks a variable the function needs, or holds an invalid value."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    bucket_name: str = DEFAULT_BUCKET_NAME
    jobs_table: str = DEFAULT_JOBS_TABLE
    roster_table: str = DEFAULT_ROSTER_TABLE
    idempotency_table: str = DEFAULT_IDEMPOTENCY_TABLE
    tenants_table: str = DEFAULT_TENANTS_TABLE
    event_bus_name: str = DEFAULT_EVENT_BUS
    import_queue_url: str = ""
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    upload_url_expiry_seconds: int = 900
    download_url_expiry_seconds: int = 300
    # How long a direct upload may take between writing the job and storing the object;
    # a job whose file has not arrived by then reads as FAILED (see jobs.store).
    direct_upload_deadline_seconds: int = 900
    token_endpoint_url: str = ""
    token_issuer_url: str = ""  # the user pool's issuer (the authorizer fetches its JWKS)
    password_hash_log2_n: int = 14
    import_lease_seconds: int = 120
    import_chunk_rows: int = 2000
    # A job waiting for its tenant's turn looks at the line again this often (SQS DelaySeconds,
    # at most 900): the safety net behind the message that wakes it when the turn passes.
    import_line_recheck_seconds: int = 60
    # Webhooks: the KMS key sealing signing secrets, the delivery queue, and how deliveries behave.
    webhook_key_id: str = DEFAULT_WEBHOOK_KEY
    webhook_queue_url: str = ""
    # Accept http/https receivers on loopback addresses (the local stack only; never on AWS).
    webhook_allow_loopback: bool = False
    webhook_timeout_seconds: int = 10
    webhook_first_retry_seconds: int = 30
    webhook_max_retry_seconds: int = 2 * 3600
    webhook_retry_window_seconds: int = 24 * 3600

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, *, require: Iterable[str] = ()) -> Settings:
        """Read once at cold start. Each name in ``require`` must be set; resource names never
        default to the local stack's; numbers must be positive integers."""
        env = os.environ if environ is None else environ
        missing = sorted(name for name in require if not env.get(name))
        if missing:
            raise ConfigurationError(f"missing environment variables: {', '.join(missing)}")
        return cls(**_names(env), **_numbers(env, cls()), webhook_allow_loopback=_flag(env, Env.WEBHOOK_ALLOW_LOOPBACK))


def _names(env: Mapping[str, str]) -> dict[str, Any]:
    """Resource names and URLs: "" when unset (a function that needs one requires it)."""
    return {
        "bucket_name": env.get(Env.BUCKET_NAME, ""),
        "jobs_table": env.get(Env.JOBS_TABLE_NAME, ""),
        "roster_table": env.get(Env.ROSTER_TABLE_NAME, ""),
        "idempotency_table": env.get(Env.IDEMPOTENCY_TABLE_NAME, ""),
        "event_bus_name": env.get(Env.EVENT_BUS_NAME, ""),
        "import_queue_url": env.get(Env.IMPORT_QUEUE_URL, ""),
        "token_endpoint_url": env.get(Env.TOKEN_ENDPOINT_URL, ""),
        "token_issuer_url": env.get(Env.TOKEN_ISSUER_URL, ""),
        "tenants_table": env.get(Env.TENANTS_TABLE_NAME, ""),
        "webhook_key_id": env.get(Env.WEBHOOK_KEY_ID, ""),
        "webhook_queue_url": env.get(Env.WEBHOOK_QUEUE_URL, ""),
    }


def _numbers(env: Mapping[str, str], defaults: Settings) -> dict[str, Any]:
    """Sizes, durations and costs: the field's default when unset."""

    def number(name: str, field: str) -> int:
        raw = env.get(name)
        if not raw:
            value: int = getattr(defaults, field)
            return value
        try:
            value = int(raw)
        except ValueError:
            value = 0
        if value <= 0:
            raise ConfigurationError(f"{name} must be a positive integer, got {raw!r}")
        return value

    numbers = {field: number(name, field) for field, name in _NUMBERS.items()}
    numbers["webhook_max_retry_seconds"] = min(numbers["webhook_max_retry_seconds"], 12 * 3600)
    numbers["import_line_recheck_seconds"] = min(numbers["import_line_recheck_seconds"], 900)  # SQS delay cap
    return numbers


_NUMBERS = {
    "max_upload_bytes": Env.MAX_UPLOAD_BYTES,
    "upload_url_expiry_seconds": Env.UPLOAD_URL_EXPIRY_SECONDS,
    "download_url_expiry_seconds": Env.DOWNLOAD_URL_EXPIRY_SECONDS,
    "direct_upload_deadline_seconds": Env.DIRECT_UPLOAD_DEADLINE_SECONDS,
    "password_hash_log2_n": Env.PASSWORD_HASH_LOG2_N,
    "import_lease_seconds": Env.IMPORT_LEASE_SECONDS,
    "import_chunk_rows": Env.IMPORT_CHUNK_ROWS,
    "import_line_recheck_seconds": Env.IMPORT_LINE_RECHECK_SECONDS,
    "webhook_timeout_seconds": Env.WEBHOOK_TIMEOUT_SECONDS,
    "webhook_first_retry_seconds": Env.WEBHOOK_FIRST_RETRY_SECONDS,
    "webhook_max_retry_seconds": Env.WEBHOOK_MAX_RETRY_SECONDS,
    "webhook_retry_window_seconds": Env.WEBHOOK_RETRY_WINDOW_SECONDS,
}


def _flag(env: Mapping[str, str], name: str) -> bool:
    raw = (env.get(name) or "false").strip().lower()
    if raw not in {"true", "false"}:
        raise ConfigurationError(f"{name} must be true or false, got {raw!r}")
    return raw == "true"
