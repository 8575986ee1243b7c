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
EVENT_SOURCE = "rostering.imports"
WEBHOOK_KEY_LOCAL_ALIAS = "alias/rostering-webhooks"


@dataclass(frozen=True, slots=True, kw_only=True)
class ConsumerSpec:
    """The Lambda function that reads a queue through an event source mapping. The CDK stack builds
    the mapping, the function's timeout and the queue's visibility timeout from it, and the local
    stack's pump (``local/pump.py``) reads the queue the same way: the emulator is as strict as AWS."""

    function: str  # the function's name (``lambdas.common.routes`` style: "importer", "delivery", …)
    timeout_seconds: int
    batch_size: int  # records per invocation (SQS receives at most 10 without a batching window)
    report_batch_item_failures: bool = True  # the function answers ``{"batchItemFailures": [...]}``

    @property
    def visibility_timeout_seconds(self) -> int:
        """Lambda's guidance for an SQS event source: at least six times the function timeout, so a
        message is not received again while an invocation (and its retries) may still run."""
        return 6 * self.timeout_seconds


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueSpec:
    local_name: str
    consumer: ConsumerSpec | None = None
    retention_seconds: int | None = None  # None: SQS's default of 4 days
    dead_letters: QueueSpec | None = None
    max_receive_count: int | None = None  # receives before SQS moves a message to ``dead_letters``

    @property
    def visibility_timeout_seconds(self) -> int | None:
        """None: SQS's default (30 s) on a queue no function reads."""
        return self.consumer.visibility_timeout_seconds if self.consumer else None

    def reader(self) -> ConsumerSpec:
        """The function that reads this queue (an error for a queue none reads)."""
        if self.consumer is None:
            raise ValueError(f"no function reads {self.local_name}")
        return self.consumer


DLQ_RETENTION_SECONDS = 14 * 24 * 3600  # SQS's maximum: time to look at what failed
# The dead-letter consumer ends the job of a message that failed after every retry (IMPORT_FAILED).
DEADLETTER_CONSUMER = ConsumerSpec(function="deadletter", timeout_seconds=120, batch_size=1)
IMPORT_DLQ = QueueSpec(
    local_name="rostering-import-dlq",
    consumer=DEADLETTER_CONSUMER,
    retention_seconds=DLQ_RETENTION_SECONDS,
)
# Each message is one file or one chunk of rows whose passwords are hashed (scrypt): one message
# per invocation keeps a chunk well inside the timeout. Five receives before the dead-letter queue.
IMPORT_CONSUMER = ConsumerSpec(function="importer", timeout_seconds=300, batch_size=1)
# How long an importer attempt holds its job: longer than the function runs, so a live attempt is
# never taken over (the stack and the local stack set IMPORT_LEASE_SECONDS to it).
IMPORT_LEASE_SECONDS = IMPORT_CONSUMER.timeout_seconds + 30
IMPORT_QUEUE = QueueSpec(
    local_name="rostering-import",
    consumer=IMPORT_CONSUMER,
    dead_letters=IMPORT_DLQ,
    max_receive_count=5,
)
WEBHOOK_DLQ = QueueSpec(local_name="rostering-webhooks-dlq", retention_seconds=DLQ_RETENTION_SECONDS)
# One event per invocation: a receiver that never answers holds one invocation for at most the
# webhook timeout and no other event waits behind it. Receives before the dead-letter queue: above
# the attempts the retry policy makes in its 24-hour window, so only a crashing handler reaches the
# DLQ; kept longer than that window.
DELIVERY_CONSUMER = ConsumerSpec(function="delivery", timeout_seconds=30, batch_size=1)
WEBHOOK_QUEUE = QueueSpec(
    local_name="rostering-webhooks",
    consumer=DELIVERY_CONSUMER,
    retention_seconds=2 * 24 * 3600,
    dead_letters=WEBHOOK_DLQ,
    max_receive_count=30,
)
