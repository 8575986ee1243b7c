"""The local stack's DynamoDB (moto, patched by ``local.moto_dynamodb``) isolates transactions as
DynamoDB does: a cancelled transaction undoes only its own items, never a concurrent write."""

from __future__ import annotations

import threading
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from lambdas.common.config import Settings

TABLE = Settings().jobs_table


def cancelled_transaction(client: Any, n: int) -> None:
    with pytest.raises(ClientError) as raised:
        client.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": TABLE, "Item": {"pk": {"S": "t"}, "sk": {"S": f"tx{n}"}}}},
                {
                    "ConditionCheck": {
                        "TableName": TABLE,
                        "Key": {"pk": {"S": "t"}, "sk": {"S": "absent"}},
                        "ConditionExpression": "attribute_exists(pk)",
                    }
                },
            ]
        )
    assert raised.value.response["Error"]["Code"] == "TransactionCanceledException"


def test_cancelled_transactions_never_undo_concurrent_writes(resources: dict[str, Any]) -> None:
    # Given one thread writing items while another runs transactions that are all cancelled
    client = boto3.client("dynamodb")
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            for n in range(150):
                client.put_item(TableName=TABLE, Item={"pk": {"S": "t"}, "sk": {"S": f"w{n:03d}"}})
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=writer)
    thread.start()
    for n in range(60):
        cancelled_transaction(client, n)
    thread.join()
    # Then every concurrent write is there, and nothing of the cancelled transactions
    assert errors == []
    keys = sorted(
        i["sk"]["S"]
        for i in client.query(
            TableName=TABLE, KeyConditionExpression="pk = :t", ExpressionAttributeValues={":t": {"S": "t"}}
        )["Items"]
    )
    assert keys == [f"w{n:03d}" for n in range(150)]


def test_cancelled_transaction_restores_the_items_it_named(resources: dict[str, Any]) -> None:
    # Given a stored item
    client = boto3.client("dynamodb")
    client.put_item(TableName=TABLE, Item={"pk": {"S": "t"}, "sk": {"S": "a"}, "n": {"N": "1"}})
    # When a transaction updates it, puts a new one, and is cancelled by a failed condition
    with pytest.raises(ClientError):
        client.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": TABLE,
                        "Key": {"pk": {"S": "t"}, "sk": {"S": "a"}},
                        "UpdateExpression": "SET n = :two",
                        "ExpressionAttributeValues": {":two": {"N": "2"}},
                    }
                },
                {"Put": {"TableName": TABLE, "Item": {"pk": {"S": "t"}, "sk": {"S": "b"}}}},
                {
                    "ConditionCheck": {
                        "TableName": TABLE,
                        "Key": {"pk": {"S": "t"}, "sk": {"S": "absent"}},
                        "ConditionExpression": "attribute_exists(pk)",
                    }
                },
            ]
        )
    # Then the table is as before
    items = client.scan(TableName=TABLE)["Items"]
    assert items == [{"pk": {"S": "t"}, "sk": {"S": "a"}, "n": {"N": "1"}}]
