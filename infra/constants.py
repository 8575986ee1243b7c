"""Every name, size and limit of the stack in one place.

Values the Lambda code already defines (table keys, object prefixes, defaults of ``Settings``,
scope names, the metric namespace) are imported from ``lambdas.common``, never repeated.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk.aws_logs import RetentionDays

from lambdas.common import config, identity, observability, routes, schema

STACK_NAME = "RosteringUploadApi"
SETTINGS_DEFAULTS = config.Settings()

# --- deploy-time choices (cdk.json context, or `cdk deploy -c key=value`) --------------------------
CTX_DOMAIN_PREFIX = "rostering:domainPrefix"  # default: rostering-<account id>
CTX_DELETION_PROTECTION = "rostering:deletionProtection"  # user pool; default true
CTX_PENDING_EXPIRATION_DAYS = "rostering:pendingExpirationDays"
CTX_ALARM_EMAIL = "rostering:alarmEmail"  # optional: creates the alarm SNS topic
CTX_LOG_LEVEL = "rostering:logLevel"

DEFAULT_DOMAIN_PREFIX = "rostering"  # the account id is appended: prefixes are global per region
DEFAULT_PENDING_EXPIRATION_DAYS = 7
DEFAULT_LOG_LEVEL = "INFO"

# --- auth ----------------------------------------------------------------------------------------
RESOURCE_SERVER = identity.RESOURCE_SERVER
SCOPE_IMPORT = identity.SCOPE_IMPORT  # "rostering/import": what routes require
SCOPE_READ = identity.SCOPE_READ
IMPORT_SCOPE_NAME = SCOPE_IMPORT.removeprefix(f"{RESOURCE_SERVER}/")  # "import": what the resource server declares
READ_SCOPE_NAME = SCOPE_READ.removeprefix(f"{RESOURCE_SERVER}/")
ACCESS_TOKEN_VALIDITY = Duration.minutes(60)
# The tenant authorizer (docs/AUTH.md): API Gateway caches each answer per token and route this long,
# which bounds how long a deleted tenant's unexpired token still passes (plus the registry cache).
AUTHORIZER_CACHE_TTL = Duration.minutes(5)
AUTHORIZER_IDENTITY_SOURCES = ("$request.header.Authorization", "$context.routeKey")

# --- storage -------------------------------------------------------------------------------------
IMPORT_PREFIX = "import-csv/"
PENDING_PREFIX = config.PENDING_PREFIX
PROCESSED_PREFIX = config.PROCESSED_PREFIX
FAILED_PREFIX = config.FAILED_PREFIX
RESULTS_PREFIX = config.RESULTS_PREFIX
CHUNKS_PREFIX = config.CHUNKS_PREFIX
# Raw CSVs and planned chunks may hold passwords: short expiry (context CTX_PENDING_EXPIRATION_DAYS).
PASSWORD_PREFIXES = (PENDING_PREFIX, PROCESSED_PREFIX, FAILED_PREFIX, CHUNKS_PREFIX)
RESULTS_EXPIRATION = Duration.days(30)
NONCURRENT_VERSION_EXPIRATION = Duration.days(1)
ACCESS_LOG_EXPIRATION = Duration.days(90)
POINT_IN_TIME_RECOVERY_DAYS = 35
TABLES = {
    "Jobs": schema.JOBS_TABLE,
    "Roster": schema.ROSTER_TABLE,
    "Idempotency": schema.IDEMPOTENCY_TABLE,
    "Tenants": schema.TENANTS_TABLE,
}
CSV_SUFFIX = ".csv"

# --- functions -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class FunctionSpec:
    name: str
    memory_mb: int
    timeout: Duration
    description: str

    @property
    def handler(self) -> str:
        return routes.entry_point(self.name)


UPLOAD = FunctionSpec(
    name="upload", memory_mb=1024, timeout=Duration.seconds(29), description="Stores an uploaded CSV (holds the file)"
)
STATUS = FunctionSpec(
    name="status", memory_mb=256, timeout=Duration.seconds(10), description="Job status and report download"
)
TOKEN = FunctionSpec(
    name="token", memory_mb=256, timeout=Duration.seconds(10), description="Relays token requests to Cognito"
)
# --- importer capacity model (docs/INFRA.md "Capacity"; tests/infra/test_capacity.py holds it together) --------
LAMBDA_MB_PER_VCPU = 1769  # Lambda gives one vCPU at 1,769 MB, in proportion below and above
HASH_SECONDS_PER_CORE = 0.060  # scrypt 2^14, r=8: ~50 ms on an idle x86 core here; Graviton2 assumed 20 % slower
HASH_THREADS = 2  # lambdas/roster/passwords.py PasswordHasher(workers=2): scrypt releases the GIL
NIGHT_PASSWORD_ROWS = 1_000 * 5_000  # 1,000 tenants x 5,000 users with passwords, all in one night
NIGHT_WINDOW = Duration.hours(2)
IMPORTER = FunctionSpec(
    name="importer",
    memory_mb=3584,  # 2.03 vCPU: both hashing threads get a core
    timeout=Duration.seconds(schema.IMPORT_CONSUMER.timeout_seconds),
    description="Imports CSV chunks",
)
CONTROL = FunctionSpec(
    name="control",
    memory_mb=256,
    timeout=Duration.seconds(10),
    description="Approve, discard and abort imports; the tenant's webhook",
)
DELIVERY = FunctionSpec(
    name="delivery",
    memory_mb=256,
    timeout=Duration.seconds(schema.DELIVERY_CONSUMER.timeout_seconds),
    description="Delivers signed webhook events",
)
AUTHORIZER = FunctionSpec(
    name="authorizer",
    memory_mb=512,
    timeout=Duration.seconds(10),
    description="Verifies access tokens and that their client is a registered tenant",
)

DEADLETTER = FunctionSpec(
    name="deadletter",
    memory_mb=512,
    timeout=Duration.seconds(schema.DEADLETTER_CONSUMER.timeout_seconds),
    description="Ends the jobs whose import messages failed after every retry",
)
FUNCTIONS = (UPLOAD, STATUS, TOKEN, CONTROL, IMPORTER, DELIVERY, AUTHORIZER, DEADLETTER)

LOG_RETENTION = RetentionDays.ONE_MONTH  # 30 days
LAMBDA_REQUIREMENTS = "requirements.txt"  # inside lambdas/
LAMBDA_PYTHON_VERSION = "3.13"
LAMBDA_PLATFORM = "manylinux2014_aarch64"
POWERTOOLS_SERVICE_NAME = observability.SERVICE
METRICS_NAMESPACE = observability.NAMESPACE

# --- queues -------------------------------------------------------------------------------------
# Names, retention, redrive, batch sizes and visibility timeouts: lambdas/common/schema.py (the local
# stack reads the same specs). Below: what only the deployed stack has.
IMPORT_QUEUE = schema.IMPORT_QUEUE  # import-csv/pending/*.csv notifications and chunk messages
IMPORT_DLQ = schema.IMPORT_DLQ
IMPORT_LEASE_SECONDS = schema.IMPORT_LEASE_SECONDS  # longer than the importer's timeout
WEBHOOK_QUEUE = schema.WEBHOOK_QUEUE  # HELD and terminal job events
IMPORTER_TABLE_ACTIONS = (  # what lambdas/importer, jobs and roster call; no Scan, no stream reads
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DescribeTable",
)
# 5 M hashes x 60 ms / 2 threads / 50 invocations = 50 min of a 2 h window; ~1,500 rows/s into DynamoDB
IMPORT_MAX_CONCURRENCY = 50  # caps the chunk fan-out (and DynamoDB write rate) without reserving concurrency

# --- webhooks ------------------------------------------------------------------------------------
WEBHOOK_MAX_CONCURRENCY = 5
WEBHOOK_TIMEOUT_SECONDS = SETTINGS_DEFAULTS.webhook_timeout_seconds  # one attempt, inside the function's timeout
WEBHOOKS_ABANDONED_METRIC = "WebhookDeliveriesAbandoned"
# The bus rule's target (the delivery queue): EventBridge's own retry policy, written out (its
# defaults), and the delivery DLQ for an event it still could not put on the queue (else dropped).
WEBHOOK_RULE_MAX_EVENT_AGE = Duration.hours(24)
WEBHOOK_RULE_RETRY_ATTEMPTS = 185

# --- api -----------------------------------------------------------------------------------------
# The routes themselves: lambdas/common/routes.py (method, path, aliases, function, scopes).
THROTTLE_RATE_LIMIT = 50  # requests per second, whole stage
THROTTLE_BURST_LIMIT = 100

# --- monitoring ----------------------------------------------------------------------------------
IMPORTS_FAILED_METRIC = observability.Metric.IMPORTS_FAILED  # the service's fault: alarmed
IMPORTS_REJECTED_METRIC = observability.Metric.IMPORTS_REJECTED  # the client's: dashboard only
ALARM_PERIOD = Duration.minutes(5)

Env = config.Env  # the environment variable names Settings.from_env reads
