"""The tenants table as webhooks use it: the tenant's endpoint (``sk = "webhook"``) and its
delivery log (``sk = "delivery#<ms, 13 digits>#<id>"``, newest last, expiring by TTL).

The signing secret is stored only as KMS ciphertext (``SecretBox``), bound to its tenant by the
encryption context: a ciphertext copied to another tenant's item does not decrypt.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import boto3
from boto3.dynamodb.conditions import Key

from lambdas.common.schema import TENANTS_TABLE

PK, SK, TTL = TENANTS_TABLE.partition_key, TENANTS_TABLE.sort_key or "sk", TENANTS_TABLE.ttl_attribute or "ttl"
WEBHOOK_SK = "webhook"
DELIVERY_PREFIX = "delivery#"
DELIVERY_LOG_SIZE = 20
DELIVERY_LOG_RETENTION_SECONDS = 30 * 24 * 3600


class SecretBox:
    """Encrypts signing secrets with a KMS key (``alias/...`` or key id); the plaintext exists
    only in memory, and only in the webhook route (to show it once) and the delivery function."""

    PURPOSE = "rostering-webhook-signing-secret"

    def __init__(self, key_id: str, *, client: Any = None) -> None:
        self._key_id = key_id
        self._kms = client or boto3.client("kms")

    def seal(self, tenant: str, secret: str) -> bytes:
        blob: bytes = self._kms.encrypt(
            KeyId=self._key_id, Plaintext=secret.encode("utf-8"), EncryptionContext=self._context(tenant)
        )["CiphertextBlob"]
        return blob

    def open(self, tenant: str, blob: bytes) -> str:
        plain: bytes = self._kms.decrypt(CiphertextBlob=blob, EncryptionContext=self._context(tenant))["Plaintext"]
        return plain.decode("utf-8")

    def _context(self, tenant: str) -> dict[str, str]:
        return {"tenant": tenant, "purpose": self.PURPOSE}


class WebhookStore:
    def __init__(self, table_name: str, *, resource: Any = None) -> None:
        self._table = (resource or boto3.resource("dynamodb")).Table(table_name)

    def put_endpoint(self, tenant: str, *, url: str, events: Sequence[str], sealed_secret: bytes) -> dict[str, Any]:
        item = {
            PK: tenant,
            SK: WEBHOOK_SK,
            "url": url,
            "events": list(events),
            "secret": sealed_secret,
            "createdAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        self._table.put_item(Item=item)
        return item

    def endpoint(self, tenant: str) -> dict[str, Any] | None:
        item: dict[str, Any] | None = self._table.get_item(Key={PK: tenant, SK: WEBHOOK_SK}, ConsistentRead=True).get(
            "Item"
        )
        if item is not None and "secret" in item:
            item["secret"] = bytes(item["secret"])  # boto3 hands back a Binary wrapper
        return item

    def delete_endpoint(self, tenant: str) -> bool:
        old = self._table.delete_item(Key={PK: tenant, SK: WEBHOOK_SK}, ReturnValues="ALL_OLD")
        return "Attributes" in old

    def record_attempt(self, tenant: str, attempt: Mapping[str, Any]) -> None:
        now_ms = time.time_ns() // 1_000_000
        self._table.put_item(
            Item={
                PK: tenant,
                SK: f"{DELIVERY_PREFIX}{now_ms:013d}#{uuid.uuid4().hex[:8]}",
                **attempt,
                TTL: now_ms // 1000 + DELIVERY_LOG_RETENTION_SECONDS,
            }
        )

    def recent_attempts(self, tenant: str, *, limit: int = DELIVERY_LOG_SIZE) -> list[dict[str, Any]]:
        """The tenant's last ``limit`` delivery attempts, newest first."""
        page = self._table.query(
            KeyConditionExpression=Key(PK).eq(tenant) & Key(SK).begins_with(DELIVERY_PREFIX),
            ScanIndexForward=False,
            Limit=limit,
            ConsistentRead=True,
        )
        return [{k: v for k, v in item.items() if k not in (PK, SK, TTL)} for item in page["Items"]]
