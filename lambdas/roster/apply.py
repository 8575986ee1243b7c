"""Applying planned rows to the roster: the stateful checks, the classification and the writes.

One call handles one chunk of rows of one file, in file order:

1. read, in BatchGetItem calls, every stored item the chunk refers to (the rows' entities, the
   users/groups they link, the organizations they name; organizations files read the tenant's
   whole tree once);
2. decide each row against that in-memory view, which each accepted row then updates (so a later
   row of the chunk sees an earlier one: an organization created on row 2 is the parent of row 3);
3. hash the new passwords on the hasher's thread pool, then write the changed items, unless
   ``dry_run``: whole items, each conditional on the version it was computed from, a row's items
   together (TransactWriteItems, ``RosterStore.write_rows``). A row refused because another
   import changed one of its items meanwhile is read again and decided again (step 1 and 2 for
   that row), so it never overwrites a change it did not see.

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
from lambdas.roster.store import (
    MAX_ITEM_BYTES,
    MAX_KEY_CHARS,
    MAX_VALUE_CHARS,
    SK,
    VERSION,
    Entity,
    Guard,
    Item,
    Ref,
    RosterStore,
    RosterStoreError,
    Write,
    item_size,
)
from lambdas.roster.templates import PARENT_ID, Column, Template

PASSWORD_COLUMN = "user_password"  # noqa: S105 (a column name)
PASSWORD_ATTRIBUTE = "user_passwordHash"  # noqa: S105 (an attribute name)
IMPORTED_BY, IMPORT_OUTCOME = "importedBy", "importOutcome"
MAX_HIERARCHY_DEPTH = 15
# Rounds of "read again, decide again" for rows refused by a concurrent write, before the chunk
# fails as a whole (and SQS retries it).
MAX_APPLY_ROUNDS = 8
_NOT_COMPARED = frozenset({IMPORTED_BY, IMPORT_OUTCOME, VERSION})
# Columns whose values are (parts of) record keys: the store's key limit applies to them.
_KEY_COLUMNS = frozenset({"user_username", "group_name", "hierarchy_organizationId", PARENT_ID})


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
        self.writes: dict[int, list[Write | Guard]] = {}  # by row number, in row order
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

    def commit(
        self, row: PlannedRow, changes: list[tuple[Ref, Item, Item | None]], guards: Sequence[Guard] = ()
    ) -> Outcome:
        """Record the row's new items; the row's outcome: created if it creates any, updated if it
        changes any, else unchanged (or this import's first outcome, see module doc). ``guards``:
        what else must still hold when the row is written (an organization's ancestry)."""
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
        changed: list[tuple[Ref, Item, int | None]] = []
        for ref, item, stored in changes:
            if stored is not None and not _differs(item, stored):
                continue
            if marker is not None:
                item[IMPORTED_BY], item[IMPORT_OUTCOME] = marker, outcome
            expected = None if stored is None else int(stored.get(VERSION, 0))
            item[VERSION] = (expected or 0) + 1
            if item_size(item) > MAX_ITEM_BYTES:
                raise _reject(row, None, Code.VALUE_TOO_LONG, "The row is too big for one record (400 KB).")
            changed.append((ref, item, expected))
        writes: list[Write | Guard] = list(guards)
        for ref, item, expected in changed:
            self.items[ref] = item
            writes.append(Write(item, expected))
        self.writes.setdefault(row.row, []).extend(writes)
        return outcome

    # -- writes --------------------------------------------------------------------------------
    def flush(self) -> set[int]:
        """Write every row's items (not in a dry run); the row numbers refused by a conflict."""
        if self.dry_run or not self.writes:
            return set()
        pending = [
            op.item
            for ops in self.writes.values()
            for op in ops
            if isinstance(op, Write) and isinstance(op.item.get(PASSWORD_ATTRIBUTE), _PendingHash)
        ]
        hashes = self.hasher.hash_many([item[PASSWORD_ATTRIBUTE].password for item in pending])
        for item, encoded in zip(pending, hashes, strict=True):
            item[PASSWORD_ATTRIBUTE] = encoded
        numbers = list(self.writes)
        refused = self.store.write_rows([self.writes[number] for number in numbers])
        return {numbers[index] for index in refused}


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
    may change (a battery file's row replaces a delivery, and the other way round). The row's
    group columns (``_session_group``) change its group as a groups file would; the session and
    its group are one row: written in one transaction, or not at all."""
    other_test = templates.DELIVERY_ID if templates.BATTERY_ID in spec.by_name else templates.BATTERY_ID
    refs: list[Ref] = []
    for row in rows:
        refs += [(Entity.SESSION, row.key), (Entity.GROUP, row.values["group_name"])]
    chunk.load(refs + _organization_refs(rows, spec))

    def decide(row: PlannedRow) -> Outcome:
        session_ref = (Entity.SESSION, row.key)
        stored_session = chunk.items.get(session_ref)
        if stored_session is not None and stored_session.get("group_name") != row.values["group_name"]:
            raise _reject(row, "group_name", Code.SESSION_GROUP_CHANGE, "A session cannot move to another group.")
        group = _session_group(chunk, row)
        session, stored = chunk.merge(row, spec, session_ref, _is_session_column)
        session.pop(other_test, None)
        start, end = session.get(templates.START_DATE), session.get(templates.END_DATE)
        if start and end and rules.parse_utc(start) >= rules.parse_utc(end):  # type: ignore[operator]
            raise _reject(
                row,
                templates.END_DATE,
                Code.INVALID_DATE_RANGE,
                f"{templates.START_DATE} must be before {templates.END_DATE}.",
            )
        return chunk.commit(row, [group, (session_ref, session, stored)])

    return decide


def _session_group(chunk: _Chunk, row: PlannedRow) -> tuple[Ref, Item, Item | None]:
    """The group a sessions row names, after its group columns, merged by the groups template's
    own rules (``templates.GROUPS``): a blank cell clears, an absent column keeps, an organization
    must exist. A missing group is created only when the row carries group columns beyond
    ``group_name``; ``commit`` writes the group only if it changed."""
    ref = (Entity.GROUP, row.values["group_name"])
    if chunk.items.get(ref) is None and not templates.carries_group_fields(row.values):
        raise _reject(row, "group_name", Code.UNKNOWN_GROUP, "No group has this group_name.")
    group, stored = chunk.merge(row, templates.GROUPS, ref, _everything)
    return ref, group, stored


def _is_session_column(name: str) -> bool:
    """The columns stored on the session: its own, and the name of its group (the link)."""
    return name == "group_name" or not templates.is_group_column(name)


def _organizations(chunk: _Chunk, spec: Template, rows: Sequence[PlannedRow]) -> Callable[[PlannedRow], Outcome]:
    return _OrganizationTree(chunk, spec).decide


class _OrganizationTree:
    """Reads the tenant's whole tree once (one paginated Query), then checks each row in file
    order: the parent exists (stored, or accepted on an earlier row), no cycle, and neither the
    organization nor anything below it ends deeper than 15 levels (top level = 1). A row that
    changes a parent is written on condition that every ancestor above the new parent still has
    the parent it was checked with (``Guard``): a concurrent change can never close a cycle."""

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

    def _ancestors_of(self, row: PlannedRow, parent: str | None) -> list[str]:
        """``parent`` and the organizations above it (the row's organization then sits at level
        ``1 + len``); an unknown parent and a cycle are rejected."""
        if parent is not None and self._chunk.items.get((Entity.ORG, parent)) is None:
            raise _reject(row, PARENT_ID, Code.UNKNOWN_ORGANIZATION, "The parent organization does not exist.")
        ancestors = _ancestors(parent, self._parent_of)
        if row.key in ancestors:
            raise _reject(row, PARENT_ID, Code.HIERARCHY_CYCLE, "The organization would be its own ancestor.")
        return ancestors

    def decide(self, row: PlannedRow) -> Outcome:
        organization_id = row.key
        ref = (Entity.ORG, organization_id)
        stored = self._chunk.items.get(ref)
        old_parent = stored.get(PARENT_ID) if stored is not None else None
        parent = old_parent
        if PARENT_ID in row.values:
            cell = row.values[PARENT_ID]
            parent = None if rules.is_blank(cell) or cell.lower() == rules.ROOT else cell
        ancestors = self._ancestors_of(row, parent)
        below = _height(organization_id, self._children) if stored is not None else 0
        if 1 + len(ancestors) + below > MAX_HIERARCHY_DEPTH:
            raise _reject(
                row, PARENT_ID, Code.HIERARCHY_TOO_DEEP, f"The hierarchy would exceed {MAX_HIERARCHY_DEPTH} levels."
            )
        item, _ = self._chunk.merge(row, self._spec, ref, lambda name: name != PARENT_ID)
        if parent is None:
            item.pop(PARENT_ID, None)
        else:
            item[PARENT_ID] = parent
        guards = []
        if parent != old_parent:
            guards = [
                Guard(self._chunk.new_item((Entity.ORG, node)), PARENT_ID, self._parent_of(node)) for node in ancestors
            ]
        outcome = self._chunk.commit(row, [(ref, item, stored)], guards)
        if parent != old_parent:
            if old_parent is not None:
                self._children.get(old_parent, set()).discard(organization_id)
            if parent is not None:
                self._children.setdefault(parent, set()).add(organization_id)
        return outcome


def _ancestors(parent: str | None, parent_of: Callable[[str], str | None]) -> list[str]:
    """``parent`` and the organizations above it, nearest first; the walk stops once past the
    depth limit, so a cycle in stored data reads as too deep instead of looping."""
    chain: list[str] = []
    node = parent
    while node is not None and len(chain) <= MAX_HIERARCHY_DEPTH:
        chain.append(node)
        node = parent_of(node)
    return chain


def _height(organization_id: str, children: dict[str, set[str]]) -> int:
    """Levels below ``organization_id`` (0 for a leaf), walked breadth first and without
    recursion; each organization counted once, so a cycle in stored data cannot loop, and the
    walk stops once past the depth limit."""
    seen = {organization_id}
    level, height = [organization_id], 0
    while height <= MAX_HIERARCHY_DEPTH:
        below = [child for node in level for child in children.get(node, ()) if child not in seen]
        if not below:
            break
        seen.update(below)
        level, height = below, height + 1
    return height


_HANDLERS: dict[str, Callable[[_Chunk, Template, Sequence[PlannedRow]], Callable[[PlannedRow], Outcome]]] = {
    "users": _users,
    "groups": _groups,
    "organizations": _organizations,
    "link-new-user-to-groups": _link_new,
    "link-existing-user-to-groups": _link_existing,
    "sessions": _sessions,
}


def _too_long(row: PlannedRow) -> Issue | None:
    """VALUE_TOO_LONG when a value cannot be stored: a key over 255 characters or a cell over
    4,096 (checked before anything is read: DynamoDB refuses oversized keys even in reads)."""
    for name, cell in row.values.items():
        limit = MAX_KEY_CHARS if name in _KEY_COLUMNS or name.endswith("_organizationId") else MAX_VALUE_CHARS
        if len(cell) > limit:
            return Issue(row.row, name, Code.VALUE_TOO_LONG, f"{name} is longer than {limit} characters.")
    return None


def _apply_round(
    spec: Template, todo: Sequence[PlannedRow], results: dict[int, RowOutcome], chunk: _Chunk
) -> tuple[set[int], int]:
    """Decide ``todo`` against what is stored now (``chunk`` reads it) and write: the row numbers
    refused because another import changed their items meanwhile, and the operations written."""
    decide = _HANDLERS[spec.name](chunk, spec, todo)
    for row in todo:
        try:
            results[row.row] = RowOutcome(row.row, row.key, decide(row), warnings=row.warnings)
        except _Rejected as rejected:
            results[row.row] = RowOutcome(row.row, row.key, "failed", issue=rejected.issue, warnings=row.warnings)
    refused = chunk.flush()
    if refused:
        logger.info("rows changed by another import: read and applied again", rows=len(refused))
    return refused, sum(len(ops) for number, ops in chunk.writes.items() if number not in refused)


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
    results: dict[int, RowOutcome] = {}
    todo: list[PlannedRow] = []
    for row in rows:
        issue = _too_long(row)
        if issue is None:
            todo.append(row)
        else:
            results[row.row] = RowOutcome(row.row, row.key, "failed", issue=issue, warnings=row.warnings)
    written = 0
    for _ in range(MAX_APPLY_ROUNDS):
        if not todo:
            break
        refused, round_written = _apply_round(spec, todo, results, _Chunk(tenant, store, hasher, dry_run, import_id))
        written += round_written
        todo = [row for row in todo if row.row in refused]
    if todo:
        raise RosterStoreError(f"{len(todo)} rows kept conflicting with other imports")
    outcomes = [results[row.row] for row in rows]
    counts: dict[str, Any] = {f"rows_{name}": 0 for name in ("created", "updated", "unchanged", "failed")}
    for outcome in outcomes:
        counts[f"rows_{outcome.outcome}"] += 1  # LogRecord owns ``created``: prefix the keys
    logger.info("rows applied", template=spec.name, count=len(rows), items_written=written, dry_run=dry_run, **counts)
    return outcomes
