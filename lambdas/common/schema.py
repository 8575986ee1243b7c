"""The one definition of the service's stateful resources: the CDK stack (``infra/``) and the
local stack (``local/``) both create them from here, so names and keys cannot drift."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class IndexSpec:
    """A global secondary index with string keys, projecting every attribute."""

    name: str
    partition_key: str
    sort_key: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TableSpec:
    local_name: str
    partition_key: str
    sort_key: str | None = None
    ttl_attribute: str | None = None
    indexes: tuple[IndexSpec, ...] = ()


# Jobs: pk = tenant, sk = referenceId (job) or "<referenceId>#chunk#<n>" (chunk markers).
# The imports list reads JOBS_BY_ACCEPTANCE: only job items carry ``listKey`` (a sparse index),
# "<microseconds since the epoch, 16 digits>#<referenceId>" of the moment the upload was accepted.
JOBS_BY_ACCEPTANCE = IndexSpec(name="byAcceptance", partition_key="pk", sort_key="listKey")
JOBS_TABLE = TableSpec(
    local_name="rostering-jobs",
    partition_key="pk",
    sort_key="sk",
    ttl_attribute="ttl",
    indexes=(JOBS_BY_ACCEPTANCE,),
)
# Roster: pk = "<tenant>#<ENTITY>", sk = the entity key (see lambdas/roster/store.py).
ROSTER_TABLE = TableSpec(local_name="rostering-roster", partition_key="pk", sort_key="sk")
# Idempotency records of the upload route (Powertools idempotency: pk "id", TTL "expiration").
IDEMPOTENCY_TABLE = TableSpec(local_name="rostering-idempotency", partition_key="id", ttl_attribute="expiration")

# Tenants: pk = tenant; sk = "webhook" (the endpoint), "settings" (defaults such as the change
# threshold) or "delivery#<ms>#<id>" (the webhook delivery log, expiring by TTL).
# The tenant registry shares it: sk = "registration" holds ``status`` ACTIVE (or DELETED) for a client
# id the tenant command made; pk = "name#<name>", sk = "name" claims a tenant name (docs/AUTH.md).
TENANTS_TABLE = TableSpec(local_name="rostering-tenants", partition_key="pk", sort_key="sk", ttl_attribute="ttl")
TENANT_ACTIVE = "ACTIVE"
TENANT_REGISTRATION = "registration"
TENANT_NAME_CLAIM = "name"

TABLES = (JOBS_TABLE, ROSTER_TABLE, IDEMPOTENCY_TABLE, TENANTS_TABLE)

BUCKET_LOCAL_NAME = "rostering-uploads"
EVENT_BUS_LOCAL_NAME = "rostering-events"
IMPORT_QUEUE_LOCAL_NAME = "rostering-import"
IMPORT_DLQ_LOCAL_NAME = "rostering-import-dlq"
EVENT_SOURCE = "rostering.imports"
# Receives of one import message before SQS moves it to the dead-letter queue (stack and local stack).
IMPORT_MAX_RECEIVE_COUNT = 5
WEBHOOK_QUEUE_LOCAL_NAME = "rostering-webhooks"
WEBHOOK_DLQ_LOCAL_NAME = "rostering-webhooks-dlq"
WEBHOOK_KEY_LOCAL_ALIAS = "alias/rostering-webhooks"
# Receives of one webhook event before SQS moves it to the dead-letter queue: above the attempts
# the retry policy makes in its 24-hour window, so only a crashing handler reaches the DLQ; kept
# longer than that window.
WEBHOOK_MAX_RECEIVE_COUNT = 30
WEBHOOK_RETENTION_SECONDS = 2 * 24 * 3600
