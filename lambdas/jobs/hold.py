"""The change hold (docs/JOB_CONTROL.md): when an import stops ``HELD`` instead of writing.

An upload may carry ``changeThreshold`` (a percentage from 0 to 100), or its tenant has a default
(tenants table, set by ``python -m ops.tenants set-threshold``). After planning, the importer
runs the file as a dry run; if it would update more than that share of the tenant's existing
records of the file's kind, and the tenant has at least ``MIN_EXISTING`` of them, nothing is
written and the job stops ``HELD`` with the planned counts and the planned report. Unanswered
for ``HOLD_SECONDS`` it ends ``DISCARDED``.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from lambdas.common.errors import MalformedRequest

MIN_EXISTING = 10
HOLD_SECONDS = 72 * 3600
FIELD = "changeThreshold"

# The kind of record a template changes, as the roster store names it (lambdas.roster.store.Entity).
TEMPLATE_KIND = {
    "users": "USER",
    "groups": "GROUP",
    "organizations": "ORG",
    "link-new-user-to-groups": "USER",
    "link-existing-user-to-groups": "MEMBERSHIP",
    "sessions": "SESSION",
}


THRESHOLD_STEP = Decimal("0.0001")  # a percentage to four decimal places


def parse_threshold(raw: Any) -> Decimal | None:
    """``changeThreshold`` from a form field (text) or JSON (number): a percentage 0 to 100, or None
    when absent. Anything else is 400 ``MALFORMED_REQUEST``."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise MalformedRequest(f"{FIELD} must be a number from 0 to 100.")
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation:
        raise MalformedRequest(f"{FIELD} must be a number from 0 to 100, not {str(raw)[:40]!r}.") from None
    if not value.is_finite() or not 0 <= value <= 100:
        raise MalformedRequest(f"{FIELD} must be a number from 0 to 100, not {str(raw)[:40]!r}.")
    return value.quantize(THRESHOLD_STEP)  # DynamoDB numbers stop at 1E-130: 2.6e-147 would not store


def exceeds(*, updated: int, existing: int, threshold: Decimal) -> bool:
    """Whether ``updated`` of ``existing`` records is more than ``threshold`` percent of them."""
    return existing >= MIN_EXISTING and Decimal(updated) * 100 > threshold * existing
