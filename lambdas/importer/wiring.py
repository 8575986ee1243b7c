"""How the importer and dead-letter functions build the ``Importer``: the settings it requires at
cold start and the roster services it runs with (the planner, apply, the roster store, the hasher)."""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3

from lambdas.common.config import Env, Settings
from lambdas.importer.chunks import RosterServices
from lambdas.importer.pipeline import Importer
from lambdas.roster.apply import apply_rows
from lambdas.roster.passwords import PasswordHasher
from lambdas.roster.planner import Planner
from lambdas.roster.store import RosterStore

REQUIRED = (
    Env.BUCKET_NAME,
    Env.JOBS_TABLE_NAME,
    Env.ROSTER_TABLE_NAME,
    Env.TENANTS_TABLE_NAME,
    Env.EVENT_BUS_NAME,
    Env.IMPORT_QUEUE_URL,
)


def roster_services(settings: Settings, dynamodb: Any) -> RosterServices:
    return RosterServices(
        start_planner=Planner.start,
        apply=apply_rows,
        store=RosterStore(settings.roster_table, resource=dynamodb),
        hasher=PasswordHasher(settings.password_hash_log2_n),
    )


@cache
def importer_for(settings: Settings) -> Importer:
    """The importer on the account's resources, with boto3 clients of its own: built on first
    use, once per container (the handlers check ``settings`` at import, at cold start)."""
    dynamodb = boto3.resource("dynamodb")
    return Importer.build(settings, roster_services(settings, dynamodb), dynamodb=dynamodb)
