"""The one definition of the service's stateful resources: the CDK stack (``infra/``) and the
local stack (``local/``) both create them from here, so names and keys cannot drift."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class TableSpec:
    local_name: str
    partition_key: str
    sort_key: str | None = None
    ttl_attribute: str | None = None


# Jobs: pk = tenant, sk = referenceId (job) or "<referenceId>#chunk#<n>" (chunk markers).
JOBS_TABLE = TableSpec(local_name="rostering-jobs", partition_key="pk", sort_key="sk", ttl_attribute="ttl")
# Roster: pk = "<tenant>#<ENTITY>", sk = the entity key (see lambdas/roster/store.py).
ROSTER_TABLE = TableSpec(local_name="rostering-roster", partition_key="pk", sort_key="sk")
# Idempotency records of the upload route (Powertools idempotency: pk "id", TTL "expiration").
IDEMPOTENCY_TABLE = TableSpec(local_name="rostering-idempotency", partition_key="id", ttl_attribute="expiration")

# Tenants: pk = the Cognito app client id; the authorizer accepts a client only while its item
# says ACTIVE (written by ``python -m ops.tenants``; see docs/AUTH.md).
TENANTS_TABLE = TableSpec(local_name="rostering-tenants", partition_key="clientId")
TENANT_ACTIVE = "ACTIVE"

TABLES = (JOBS_TABLE, ROSTER_TABLE, IDEMPOTENCY_TABLE, TENANTS_TABLE)

BUCKET_LOCAL_NAME = "rostering-uploads"
EVENT_BUS_LOCAL_NAME = "rostering-events"
IMPORT_QUEUE_LOCAL_NAME = "rostering-import"
IMPORT_DLQ_LOCAL_NAME = "rostering-import-dlq"
EVENT_SOURCE = "rostering.imports"
# Receives of one import message before SQS moves it to the dead-letter queue (stack and local stack).
IMPORT_MAX_RECEIVE_COUNT = 5
