"""Uploads bucket (customer managed KMS key), its access-log bucket, and the tables of
``lambdas/common/schema.py``. Grants are narrow: object actions per key prefix, no wildcards."""

from __future__ import annotations

from typing import cast

from aws_cdk import Acknowledgment, CfnElement, Duration, RemovalPolicy, Stack, Validations
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra import constants as c
from lambdas.common.schema import TableSpec

# KMS actions S3 performs on the caller's behalf (SSE-KMS with a bucket key).
_KMS_FOR_READ = ("kms:Decrypt",)
_KMS_FOR_WRITE = ("kms:GenerateDataKey", "kms:Decrypt")


class Storage(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, pending_expiration: Duration) -> None:
        super().__init__(scope, construct_id)
        self.key = kms.Key(self, "Key", enable_key_rotation=True, description="Rostering uploads and reports")
        self.access_logs = s3.Bucket(
            self,
            "AccessLogs",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,  # server access logging cannot write SSE-KMS
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[s3.LifecycleRule(id="expire-logs", expiration=c.ACCESS_LOG_EXPIRATION)],
            removal_policy=RemovalPolicy.RETAIN,
        )
        Validations.of(self.access_logs).acknowledge(
            Acknowledgment(id="AwsSolutions-S1", reason="This is the access-log bucket; logging it to itself loops.")
        )
        self.bucket = s3.Bucket(
            self,
            "Uploads",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.key,
            bucket_key_enabled=True,
            enforce_ssl=True,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix="uploads/",
            lifecycle_rules=[
                *(
                    s3.LifecycleRule(id=f"expire-{prefix.strip('/').replace('/', '-')}", prefix=prefix, expiration=exp)
                    for prefix, exp in (
                        *((p, pending_expiration) for p in c.PASSWORD_PREFIXES),
                        (c.RESULTS_PREFIX, c.RESULTS_EXPIRATION),
                    )
                ),
                s3.LifecycleRule(
                    id="expire-noncurrent",
                    noncurrent_version_expiration=c.NONCURRENT_VERSION_EXPIRATION,
                    expired_object_delete_marker=True,
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                ),
            ],
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.jobs = self._table("Jobs", c.TABLES["Jobs"])
        self.roster = self._table("Roster", c.TABLES["Roster"])
        self.idempotency = self._table("Idempotency", c.TABLES["Idempotency"])
        self.tenants = self._table("Tenants", c.TABLES["Tenants"])

    def _table(self, construct_id: str, spec: TableSpec) -> dynamodb.TableV2:
        table = dynamodb.TableV2(
            self,
            construct_id,
            partition_key=dynamodb.Attribute(name=spec.partition_key, type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name=spec.sort_key, type=dynamodb.AttributeType.STRING)
            if spec.sort_key
            else None,
            time_to_live_attribute=spec.ttl_attribute,
            global_secondary_indexes=[
                dynamodb.GlobalSecondaryIndexPropsV2(
                    index_name=index.name,
                    partition_key=dynamodb.Attribute(name=index.partition_key, type=dynamodb.AttributeType.STRING),
                    sort_key=dynamodb.Attribute(name=index.sort_key, type=dynamodb.AttributeType.STRING),
                )
                for index in spec.indexes
            ]
            or None,
            billing=dynamodb.Billing.on_demand(),
            encryption=dynamodb.TableEncryptionV2.aws_managed_key(),
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True, recovery_period_in_days=c.POINT_IN_TIME_RECOVERY_DAYS
            ),
            removal_policy=RemovalPolicy.RETAIN,
        )
        return table

    def acknowledge_index_grants(self, *grantees: Construct) -> None:
        """Every grant on the jobs table covers ``<table>/index/*`` (CDK adds it for a table with
        indexes): the index names are ours (lambdas/common/schema.py) and hold only its items."""
        stack = Stack.of(self)
        table_id = stack.resolve(stack.get_logical_id(cast(CfnElement, self.jobs.node.default_child)))
        names = ", ".join(index.name for index in c.TABLES["Jobs"].indexes)
        for grantee in grantees:
            Validations.of(grantee).acknowledge(
                Acknowledgment(
                    id=f"AwsSolutions-IAM5[Resource::<{table_id}.Arn>/index/*]",
                    reason=f"The jobs table's indexes ({names}) hold only its own job items; CDK grants "
                    "them as index/*.",
                )
            )

    @property
    def environment(self) -> dict[str, str]:
        return {
            c.Env.BUCKET_NAME: self.bucket.bucket_name,
            c.Env.JOBS_TABLE_NAME: self.jobs.table_name,
            c.Env.ROSTER_TABLE_NAME: self.roster.table_name,
            c.Env.IDEMPOTENCY_TABLE_NAME: self.idempotency.table_name,
            c.Env.TENANTS_TABLE_NAME: self.tenants.table_name,
        }

    def grant_objects(self, grantee: iam.IGrantable, *actions: str, prefix: str) -> None:
        """``actions`` (exact S3 object actions) on keys under ``prefix``, plus the KMS use they need."""
        iam.Grant.add_to_principal(
            grantee=grantee, actions=list(actions), resource_arns=[self.bucket.arn_for_objects(f"{prefix}*")]
        )
        writes = any(action.startswith("s3:Put") for action in actions)
        self.key.grant(grantee, *(_KMS_FOR_WRITE if writes else _KMS_FOR_READ))
        if isinstance(grantee, Construct):
            stack = Stack.of(self)
            bucket_id = stack.resolve(stack.get_logical_id(cast(CfnElement, self.bucket.node.default_child)))
            Validations.of(grantee).acknowledge(
                Acknowledgment(
                    id=f"AwsSolutions-IAM5[Resource::<{bucket_id}.Arn>/{prefix}*]",
                    reason=f"Objects under {prefix} are named by per-upload UUIDs; the key prefix is the "
                    f"narrowest resource for {', '.join(actions)}.",
                )
            )

    def grant_list(self, grantee: iam.IGrantable, *, prefix: str) -> None:
        """ListBucket limited to ``prefix`` (so a missing object reads as 404, not 403)."""
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[self.bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{prefix}*"]}},
            )
        )
