"""Applying planned rows to the roster: the stateful checks, the classification and the writes.

One call handles one chunk of rows of one file, in file order:

1. read, in BatchGetItem calls, every stored item the chunk refers to (the rows' entities, the
   users/groups they link, the organizations they name; organizations files read the tenant's
   whole tree once);
2. decide each row against that in-memory view, which each accepted row then updates (so a later
   row of the chunk sees an earlier one: an organization created on row 2 is the parent of row 3);
3. hash the new passwords on the hasher's thread pool, then write the changed items in
   BatchWriteItem calls of whole items (puts), unless ``dry_run``.

``dry_run`` runs steps 1 and 2 exactly as a real run and skips step 3, so it predicts the real
run's outcomes. Writes are idempotent: re-applying a chunk computes the same items, compares them
to what is stored, and writes nothing new (a stored password hash is kept when the row's password
verifies against it). A re-applied row therefore reads ``unchanged``; give ``import_id`` (the
job's reference id) and the items written carry ``importedBy``/``importOutcome``, so a re-applied
row whose item was written by this very import and row reports that first outcome again.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Sequence
from typing import Any

from lambdas.common.observability import logger
from lambdas.roster import rules, templates
from lambdas.roster.codes import Code
from lambdas.roster.contract import Issue, Outcome, PlannedRow, RowOutcome
from lambdas.roster.passwords import PasswordHasher
from lambdas.roster.store import SK, Entity, Item, Ref, RosterStore
from lambdas.roster.templates import PARENT_ID, Column, Template

PASSWORD_COLUMN = "user_password"  # noqa: S105 (a column name)
PASSWORD_ATTRIBUTE = "user_passwordHash"  # noqa: S105 (an attribute name)
IMPORTED_BY, IMPORT_OUTCOME = "importedBy", "importOutcome"
MAX_HIERARCHY_DEPTH = 15
_NOT_COMPARED = frozenset({IMPORTED_BY, IMPORT_OUTCOME})
_GROUP_COLUMNS = frozenset({"group_name", "group_description", "group_active", "group_organizationId"})
_SESSION_SKIPS = frozenset({"group_description", "group_active", "group_organizationId"})


class _PendingHash:
    """A new password waiting for ``hash_many`` at the end of the chunk. Never printed."""

    __slots__ = ("password",)

    def __init__(self, password: str) -> None:
        self.password = password

    def __repr__(self) -> str:
        return "<password to hash>"


class _Rejected(Exception):
    def __init__(self, issue: Issue) -> None:
        super().__init__(issue.code)
        self.issue = issue


def _reject(row: PlannedRow, column: str | None, code: Code, message: str) -> _Rejected:
    return _Rejected(Issue(row.row, column, code, message))


class _Chunk:
    """The in-memory view of the tenant's roster for one call, and the writes it accumulates."""

    def __init__(
        self, tenant: str, store: RosterStore, hasher: PasswordHasher, dry_run: bool, import_id: str | None
    ) -> None:
        self.tenant = tenant
        self.store = store
        self.hasher = hasher
        self.dry_run = dry_run
        self.import_id = import_id
        self.items: dict[Ref, Item | None] = {}
        self.writes: dict[Ref, Item] = {}
        self.verified: dict[tuple[str, str], bool] = {}
        self._has_organizations: bool | None = None

    # -- reads ---------------------------------------------------------------------------------
    def load(self, refs: list[Ref]) -> None:
        missing = [ref for ref in dict.fromkeys(refs) if ref not in self.items]
        found = self.store.get_many(self.tenant, missing)
        for ref in missing:
            self.items[ref] = found.get(ref)

    def has_organizations(self) -> bool:
        """Whether the tenant has organizations: one ``Limit=1`` query, at most once per call."""
        if self._has_organizations is None:
            self._has_organizations = self.store.has_any(self.tenant, Entity.ORG)
        return self._has_organizations

    def preverify(self, rows: Sequence[PlannedRow]) -> None:
        """Verify, in parallel, the rows' passwords against the stored hashes of existing users."""
        pairs = []
        for row in rows:
            password = row.values.get(PASSWORD_COLUMN, "")
            stored = self.items.get((Entity.USER, row.values["user_username"]))
            if not rules.is_blank(password) and stored is not None and isinstance(stored.get(PASSWORD_ATTRIBUTE), str):
                pairs.append((password, stored[PASSWORD_ATTRIBUTE]))
        pairs = list(dict.fromkeys(pairs))
        for pair, same in zip(pairs, self.hasher.verify_many(pairs), strict=True):
            self.verified[pair] = same

    def same_password(self, password: str, current: Any) -> bool:
        if isinstance(current, _PendingHash):
            return hmac.compare_digest(password.encode(), current.password.encode())
        if not isinstance(current, str):
            return False
        pair = (password, current)
        if pair not in self.verified:
            self.verified[pair] = self.hasher.verify(password, current)
        return self.verified[pair]

    def organization_exists(self, organization_id: str) -> bool:
        return organization_id.lower() == rules.ROOT or self.items.get((Entity.ORG, organization_id)) is not None

    # -- decisions -----------------------------------------------------------------------------
    def merge(
        self,
        row: PlannedRow,
        spec: Template,
        ref: Ref,
        wanted: Callable[[str], bool],
    ) -> tuple[Item, Item | None]:
        """The entity ``ref`` after applying the row's cells of the ``wanted`` columns: a blank cell
        clears the value (or sets the default TRUE of ``*_active``), an absent column keeps it.
        Returns (new item, stored item or None)."""
        stored = self.items.get(ref)
        creating = stored is None
        item: Item = dict(stored) if stored is not None else self.new_item(ref)
        columns = [column for column in spec.columns if wanted(column.name)]
        if creating:
            self._check_create(row, columns)
        for name, cell in row.values.items():
            column = spec.column(name)
            if column is not None and wanted(name):
                self._set_cell(item, row, column, name, cell)
        if creating:
            for column in columns:
                if column.convert is rules.to_boolean and column.name not in item:
                    item[column.name] = True
        return item, stored

    def _check_create(self, row: PlannedRow, columns: Sequence[Column]) -> None:
        """A new entity needs its create-mandatory cells, and its organization column when the
        tenant has organizations."""
        for column in columns:
            if column.mandatory == "create" and rules.is_blank(row.values.get(column.name, "")):
                raise _reject(row, column.name, Code.MISSING_MANDATORY_FIELD, f"{column.name} is mandatory on create.")
        for column in columns:
            if column.organization and column.name not in row.values and self.has_organizations():
                message = f"{column.name} is mandatory: the tenant has organizations."
                raise _reject(row, column.name, Code.MISSING_MANDATORY_FIELD, message)

    def _set_cell(self, item: Item, row: PlannedRow, column: Column, name: str, cell: str) -> None:
        """One cell into ``item``: a blank cell clears the value (``*_active``: TRUE), a blank
        password keeps the stored hash; an organization must exist."""
        blank = rules.is_blank(cell)
        if column.organization:
            if blank and self.has_organizations():
                raise _reject(
                    row, name, Code.MISSING_MANDATORY_FIELD, f"{name} is mandatory: the tenant has organizations."
                )
            if not blank and not self.organization_exists(cell):
                raise _reject(row, name, Code.UNKNOWN_ORGANIZATION, f"{name} is neither root nor an organization.")
        if name == PASSWORD_COLUMN:
            # A blank password keeps the stored one: an export without passwords never locks users out.
            if not blank and not self.same_password(cell, item.get(PASSWORD_ATTRIBUTE)):
                item[PASSWORD_ATTRIBUTE] = _PendingHash(cell)
        elif blank:
            if column.convert is rules.to_boolean:
                item[name] = True
            else:
                item.pop(name, None)
        else:
            item[name] = column.convert(cell)

    def new_item(self, ref: Ref) -> Item:
        entity, sort_key = ref
        return RosterStore.key(self.tenant, entity, sort_key)

    def commit(self, row: PlannedRow, changes: list[tuple[Ref, Item, Item | None]]) -> Outcome:
        """Record the row's new items; the row's outcome: created if it creates any, updated if it
        changes any, else unchanged (or this import's first outcome, see module doc)."""
        outcome: Outcome = "unchanged"
        for _, item, stored in changes:
            if stored is None:
                outcome = "created"
            elif outcome == "unchanged" and _differs(item, stored):
                outcome = "updated"
        marker = f"{self.import_id}#{row.row}" if self.import_id is not None else None
        if outcome == "unchanged":
            for _, _, stored in changes:
                if marker is not None and stored is not None and stored.get(IMPORTED_BY) == marker:
                    outcome = stored.get(IMPORT_OUTCOME, outcome)
            return outcome
        for ref, item, stored in changes:
            if stored is not None and not _differs(item, stored):
                continue
            if marker is not None:
                item[IMPORTED_BY], item[IMPORT_OUTCOME] = marker, outcome
            self.items[ref] = item
            self.writes[ref] = item
        return outcome

    # -- writes --------------------------------------------------------------------------------
    def flush(self) -> int:
        if self.dry_run:
            return 0
        pending = [item for item in self.writes.values() if isinstance(item.get(PASSWORD_ATTRIBUTE), _PendingHash)]
        hashes = self.hasher.hash_many([item[PASSWORD_ATTRIBUTE].password for item in pending])
        for item, encoded in zip(pending, hashes, strict=True):
            item[PASSWORD_ATTRIBUTE] = encoded
        return self.store.put_many(self.writes.values())


def _differs(item: Item, stored: Item) -> bool:
    keys = (item.keys() | stored.keys()) - _NOT_COMPARED
    return any(item.get(key) != stored.get(key) for key in keys)


def _organization_refs(rows: Sequence[PlannedRow], spec: Template) -> list[Ref]:
    columns = [column.name for column in spec.columns if column.organization]
    refs = []
    for row in rows:
        for name in columns:
            value = row.values.get(name, "")
            if not rules.is_blank(value) and value.lower() != rules.ROOT:
                refs.append((Entity.ORG, value))
    return refs


def _everything(_: str) -> bool:
    return True


# -- templates ---------------------------------------------------------------------------------
def _users(chunk: _Chunk, spec: Template, rows: Sequence[PlannedRow]) -> Callable[[PlannedRow], Outcome]:
    chunk.load([(Entity.USER, row.key) for row in rows] + _organization_refs(rows, spec))
    chunk.preverify(rows)

    def decide(row: PlannedRow) -> Outcome:
        ref = (Entity.USER, row.key)
        item, stored = chunk.merge(row, spec, ref, _everything)
        return chunk.commit(row, [(ref, item, stored)])

    return decide


def _groups(chunk: _Chunk, spec: Template, rows: Sequence[PlannedRow]) -> Callable[[PlannedRow], Outcome]:
    chunk.load([(Entity.GROUP, row.key) for row in rows] + _organization_refs(rows, spec))

    def decide(row: PlannedRow) -> Outcome:
        ref = (Entity.GROUP, row.key)
        item, stored = chunk.merge(row, spec, ref, _everything)
        return chunk.commit(row, [(ref, item, stored)])

    return decide


def _link_existing(chunk: _Chunk, spec: Template, rows: Sequence[PlannedRow]) -> Callable[[PlannedRow], Outcome]:
    refs: list[Ref] = []
    for row in rows:
        refs += [(Entity.USER, row.values["user_username"]), (Entity.GROUP, row.values["group_name"])]
        refs.append((Entity.MEMBERSHIP, row.key))
    chunk.load(refs)

    def decide(row: PlannedRow) -> Outcome:
        user, group = row.values["user_username"], row.values["group_name"]
        if chunk.items.get((Entity.USER, user)) is None:
            raise _reject(row, "user_username", Code.UNKNOWN_USER, "No user has this user_username.")
        if chunk.items.get((Entity.GROUP, group)) is None:
            raise _reject(row, "group_name", Code.UNKNOWN_GROUP, "No group has this group_name.")
        return chunk.commit(row, [_membership(chunk, spec, row)])

    return decide


def _membership(chunk: _Chunk, spec: Template, row: PlannedRow) -> tuple[Ref, Item, Item | None]:
    ref = (Entity.MEMBERSHIP, row.key)
    item, stored = chunk.merge(row, spec, ref, lambda name: name in ("user_username", "group_name", "group_role"))
    return ref, item, stored


def _link_new(chunk: _Chunk, spec: Template, rows: Sequence[PlannedRow]) -> Callable[[PlannedRow], Outcome]:
    """Creates or updates the user, then links it to an existing group (the TAO template links new
    users to existing groups; it carries no group columns to create one with)."""
    refs: list[Ref] = []
    for row in rows:
        refs += [(Entity.USER, row.values["user_username"]), (Entity.GROUP, row.values["group_name"])]
        refs.append((Entity.MEMBERSHIP, row.key))
    chunk.load(refs + _organization_refs(rows, spec))
    chunk.preverify(rows)

    def decide(row: PlannedRow) -> Outcome:
        if chunk.items.get((Entity.GROUP, row.values["group_name"])) is None:
            raise _reject(row, "group_name", Code.UNKNOWN_GROUP, "No group has this group_name.")
        user_ref = (Entity.USER, row.values["user_username"])
        user, stored_user = chunk.merge(row, spec, user_ref, lambda name: name.startswith("user_"))
        return chunk.commit(row, [(user_ref, user, stored_user), _membership(chunk, spec, row)])

    return decide


def _sessions(chunk: _Chunk, spec: Template, rows: Sequence[PlannedRow]) -> Callable[[PlannedRow], Outcome]:
    """A session, identified by its name, belongs to one group for good; its delivery or battery
    may change (a battery file's row replaces a delivery, and the other way round). A missing
    group is created from the row's group columns when the file has any beyond ``group_name``
    (``group_description``, ``group_active``); an existing group is not modified by a sessions file."""
    other_test = templates.DELIVERY_ID if templates.BATTERY_ID in spec.by_name else templates.BATTERY_ID
    may_create_groups = any(name in rows[0].values for name in templates.SESSION_GROUP_EXTRAS)
    refs: list[Ref] = []
    for row in rows:
        refs += [(Entity.SESSION, row.key), (Entity.GROUP, row.values["group_name"])]
    chunk.load(refs + _organization_refs(rows, spec))

    def decide(row: PlannedRow) -> Outcome:
        group_name = row.values["group_name"]
        session_ref = (Entity.SESSION, row.key)
        stored_session = chunk.items.get(session_ref)
        if stored_session is not None and stored_session.get("group_name") != group_name:
            raise _reject(row, "group_name", Code.SESSION_GROUP_CHANGE, "A session cannot move to another group.")
        changes: list[tuple[Ref, Item, Item | None]] = []
        group_ref = (Entity.GROUP, group_name)
        if chunk.items.get(group_ref) is None:
            if not may_create_groups:
                raise _reject(row, "group_name", Code.UNKNOWN_GROUP, "No group has this group_name.")
            group, _ = chunk.merge(row, templates.GROUPS, group_ref, _GROUP_COLUMNS.__contains__)
            changes.append((group_ref, group, None))
        else:
            organization = row.values.get("group_organizationId", "")
            if not rules.is_blank(organization) and not chunk.organization_exists(organization):
                raise _reject(
                    row,
                    "group_organizationId",
                    Code.UNKNOWN_ORGANIZATION,
                    "group_organizationId is neither root nor an organization.",
                )
        session, stored = chunk.merge(row, spec, session_ref, lambda name: name not in _SESSION_SKIPS)
        session.pop(other_test, None)
        start, end = session.get(templates.START_DATE), session.get(templates.END_DATE)
        if start and end and rules.parse_utc(start) >= rules.parse_utc(end):  # type: ignore[operator]
            raise _reject(
                row,
                templates.END_DATE,
                Code.INVALID_DATE_RANGE,
                f"{templates.START_DATE} must be before {templates.END_DATE}.",
            )
        changes.append((session_ref, session, stored))
        return chunk.commit(row, changes)

    return decide


def _organizations(chunk: _Chunk, spec: Template, rows: Sequence[PlannedRow]) -> Callable[[PlannedRow], Outcome]:
    return _OrganizationTree(chunk, spec).decide


class _OrganizationTree:
    """Reads the tenant's whole tree once (one paginated Query), then checks each row in file
    order: the parent exists (stored, or accepted on an earlier row), no cycle, and neither the
    organization nor anything below it ends deeper than 15 levels (top level = 1)."""

    def __init__(self, chunk: _Chunk, spec: Template) -> None:
        self._chunk, self._spec = chunk, spec
        self._children: dict[str, set[str]] = {}
        for item in chunk.store.query_all(chunk.tenant, Entity.ORG):
            chunk.items[(Entity.ORG, item[SK])] = item
            if item.get(PARENT_ID):
                self._children.setdefault(item[PARENT_ID], set()).add(item[SK])

    def _parent_of(self, organization_id: str) -> str | None:
        item = self._chunk.items.get((Entity.ORG, organization_id))
        return item.get(PARENT_ID) if item is not None else None

    def _height(self, organization_id: str) -> int:
        below = self._children.get(organization_id)
        return 1 + max(self._height(child) for child in below) if below else 0

    def _depth_under(self, row: PlannedRow, parent: str | None) -> int:
        """The level the row's organization takes under ``parent`` (top level = 1); an unknown
        parent and a cycle are rejected."""
        depth = 1
        if parent is None:
            return depth
        if self._chunk.items.get((Entity.ORG, parent)) is None:
            raise _reject(row, PARENT_ID, Code.UNKNOWN_ORGANIZATION, "The parent organization does not exist.")
        node: str | None = parent
        while node is not None:
            if node == row.key:
                raise _reject(row, PARENT_ID, Code.HIERARCHY_CYCLE, "The organization would be its own ancestor.")
            depth += 1
            if depth > MAX_HIERARCHY_DEPTH + 1:
                break
            node = self._parent_of(node)
        return depth

    def decide(self, row: PlannedRow) -> Outcome:
        organization_id = row.key
        ref = (Entity.ORG, organization_id)
        stored = self._chunk.items.get(ref)
        old_parent = stored.get(PARENT_ID) if stored is not None else None
        parent = old_parent
        if PARENT_ID in row.values:
            cell = row.values[PARENT_ID]
            parent = None if rules.is_blank(cell) or cell.lower() == rules.ROOT else cell
        depth = self._depth_under(row, parent)
        if depth + (self._height(organization_id) if stored is not None else 0) > MAX_HIERARCHY_DEPTH:
            raise _reject(
                row, PARENT_ID, Code.HIERARCHY_TOO_DEEP, f"The hierarchy would exceed {MAX_HIERARCHY_DEPTH} levels."
            )
        item, _ = self._chunk.merge(row, self._spec, ref, lambda name: name != PARENT_ID)
        if parent is None:
            item.pop(PARENT_ID, None)
        else:
            item[PARENT_ID] = parent
        outcome = self._chunk.commit(row, [(ref, item, stored)])
        if parent != old_parent:
            if old_parent is not None:
                self._children.get(old_parent, set()).discard(organization_id)
            if parent is not None:
                self._children.setdefault(parent, set()).add(organization_id)
        return outcome


_HANDLERS: dict[str, Callable[[_Chunk, Template, Sequence[PlannedRow]], Callable[[PlannedRow], Outcome]]] = {
    "users": _users,
    "groups": _groups,
    "organizations": _organizations,
    "link-new-user-to-groups": _link_new,
    "link-existing-user-to-groups": _link_existing,
    "sessions": _sessions,
}


def apply_rows(
    template: str,
    rows: Sequence[PlannedRow],
    *,
    tenant: str,
    store: RosterStore,
    dry_run: bool,
    hasher: PasswordHasher,
    import_id: str | None = None,
) -> list[RowOutcome]:
    """Apply one chunk of planned rows of one file (``template`` as ``Planner.template``), in order.

    Returns one ``RowOutcome`` per row, same order: ``created``/``updated``/``unchanged``, or
    ``failed`` with the row's first error (nothing of a failed row is written). With ``dry_run``
    the same decisions are made and nothing is written. Organizations files must be applied
    chunk after chunk in file order (a parent may be on an earlier row); other templates' chunks
    are independent. Raises ``RosterStoreError`` (or a botocore error) when the store fails: the
    chunk may then be applied again as a whole.
    """
    if not rows:
        return []
    spec = templates.for_rows(template, rows[0].values)
    chunk = _Chunk(tenant, store, hasher, dry_run, import_id)
    decide = _HANDLERS[spec.name](chunk, spec, rows)
    outcomes: list[RowOutcome] = []
    for row in rows:
        try:
            outcomes.append(RowOutcome(row.row, row.key, decide(row), warnings=row.warnings))
        except _Rejected as rejected:
            outcomes.append(RowOutcome(row.row, row.key, "failed", issue=rejected.issue, warnings=row.warnings))
    written = chunk.flush()
    counts: dict[str, Any] = {f"rows_{name}": 0 for name in ("created", "updated", "unchanged", "failed")}
    for outcome in outcomes:
        counts[f"rows_{outcome.outcome}"] += 1  # LogRecord owns ``created``: prefix the keys
    logger.info("rows applied", template=spec.name, count=len(rows), items_written=written, dry_run=dry_run, **counts)
    return outcomes
