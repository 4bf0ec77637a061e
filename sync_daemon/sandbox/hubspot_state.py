"""The HubSpot sandbox's state machine: tables, associations, lists, and the rules for writes.

The HTTP route mixins (:mod:`hubspot_objects`, :mod:`hubspot_meta`) and the public test hooks
(:mod:`hubspot`) all change state through these methods, so a write made by a test behaves exactly
like one made over HTTP (validation, last-modified bumps, search-index invalidation).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sync_daemon.sandbox import hubspot_data as hd
from sync_daemon.sandbox import hubspot_seed, seed
from sync_daemon.sandbox.hubspot_store import (
    HttpError,
    ObjectTable,
    RateLimiter,
    invalid_properties,
    iso,
    millis,
)
from sync_daemon.sandbox.server import Response, SandboxApp

if TYPE_CHECKING:
    from collections.abc import Iterable
    from datetime import datetime

    from sync_daemon.sandbox.server import Clock, Request

TEN_SECOND_LIMITS = {"free": 100, "starter": 100, "professional": 190, "enterprise": 190}
ASSOCIATION_TYPES = {
    ("contacts", "companies"): 279,
    ("companies", "contacts"): 280,
    ("notes", "companies"): 190,
    ("companies", "notes"): 189,
    ("notes", "contacts"): 202,
    ("contacts", "notes"): 201,
}
PRIMARY_TYPES = {("contacts", "companies"): 1, ("companies", "contacts"): 2}
TYPE_ALIASES = {
    "0-1": "contacts",
    "contact": "contacts",
    "0-2": "companies",
    "company": "companies",
    "0-46": "notes",
    "note": "notes",
}
OBJECT_TYPE_IDS = {"contacts": "0-1", "companies": "0-2", "notes": "0-46"}
RULE_ERROR = "INVALID_PROPERTY_VALUE"  # what a property validation rule reports per property
SECONDARY_EVERY = 25  # every 25th seeded contact also works with a second company (not primary)


class HubSpotState(SandboxApp):
    """Everything the portal holds, and the only code that changes it."""

    def __init__(self, clock: Clock | None, tier: str, daily_limit: int, timezone: str) -> None:
        """An empty portal with HubSpot's default properties and two manual contact lists."""
        super().__init__(clock)
        self.properties = hd.default_properties()
        self.tables = {
            "companies": ObjectTable("companies", self.properties["companies"], hd.COMPANY_ID_BASE + 1),
            "contacts": ObjectTable("contacts", self.properties["contacts"], hd.CONTACT_ID_BASE + 1),
            "notes": ObjectTable("notes", self.properties["notes"], hd.NOTE_ID_BASE + 1),
        }
        self.edges: dict[tuple[str, str], dict[int, dict[int, set[int]]]] = {k: {} for k in ASSOCIATION_TYPES}
        self.limiter = RateLimiter(self.clock, TEN_SECOND_LIMITS[tier], daily_limit, timezone)
        self.lists: dict[str, dict[str, Any]] = {}
        self.search_lag_seconds = 0.0
        self.enforce_rate_limits = False
        self.validation_rules: dict[tuple[str, int], str] = {}  # (type, id) -> the rule's message

    def _seed(self, accounts: int, contacts: int, seed_value: int) -> None:
        for acc in seed.accounts(accounts, seed_value):
            self._insert("companies", *hubspot_seed.company_record(acc), modified=acc.modified_at)
        for con in seed.contacts(contacts, accounts, seed_value):
            self._insert("contacts", *hubspot_seed.contact_record(con), modified=con.modified_at)
            company = hd.COMPANY_ID_BASE + con.account_key
            self._link("contacts", hd.CONTACT_ID_BASE + con.key, "companies", company, primary=True)
            if con.key % SECONDARY_EVERY == 0 and accounts > 1:
                other = hd.COMPANY_ID_BASE + con.account_key % accounts + 1
                self._link("contacts", hd.CONTACT_ID_BASE + con.key, "companies", other, primary=False)
        now = iso(self.clock.now())
        for list_id, name in (
            ("101", "Onboarding assessment: handoff"),
            ("102", "Assessment: six-monthly"),
        ):
            self.lists[list_id] = {
                "listId": list_id,
                "name": name,
                "processingType": "MANUAL",
                "objectTypeId": "0-1",
                "createdAt": now,
                "members": {},
            }

    def _insert(
        self,
        object_type: str,
        oid: int,
        props: dict[str, str | None],
        created: datetime,
        modified: datetime,
    ) -> hd.HubObject:
        obj = hd.HubObject(oid, props, created, modified, millis(modified))
        self.tables[object_type].add(obj)
        return obj

    # ----------------------------------------------------------------- the state machine

    def _require(self, object_type: str, object_id: str) -> hd.HubObject:
        obj = self.tables[object_type].find(str(object_id))
        if obj is None:
            raise KeyError(f"no {object_type} {object_id}")
        return obj

    def _validate(
        self, object_type: str, props: dict[str, Any], *, system: bool = False
    ) -> tuple[dict[str, str | None], list[dict[str, Any]]]:
        known, clean, problems = self.properties[object_type], {}, []
        for name, value in props.items():
            prop = known.get(name)
            if prop is None:
                msg = f'Property "{name}" does not exist'
                problems.append(hd.PropertyValueError(name, "PROPERTY_DOESNT_EXIST", msg).detail)
                continue
            try:
                clean[name] = prop.coerce(value, system=system)
            except hd.PropertyValueError as exc:
                problems.append(exc.detail)
        return clean, problems

    def _write(
        self,
        object_type: str,
        obj: hd.HubObject,
        props: dict[str, Any],
        *,
        system: bool = False,
        modified_at: datetime | None = None,
    ) -> None:
        clean, problems = self._validate(object_type, props, system=system)
        if problems:
            raise invalid_properties(problems)
        self._commit(object_type, obj, clean, modified_at)

    def _check_rules(self, object_type: str, writes: Iterable[tuple[hd.HubObject, dict[str, Any]]]) -> None:
        """A property validation rule refuses the whole request with 400, before anything is written.

        HubSpot lists the offending properties in the message; ``context.ids`` names the records.
        """
        details: list[dict[str, Any]] = []
        ids: list[str] = []
        for obj, props in writes:
            message = self.validation_rules.get((object_type, obj.id))
            if message is None:
                continue
            ids.append(str(obj.id))
            details += [hd.PropertyValueError(name, RULE_ERROR, message).detail for name in props]
        if ids:
            text = json.dumps(details, ensure_ascii=False)
            raise HttpError(
                400, "VALIDATION_ERROR", f"Property values were not valid: {text}", errors=[], context={"ids": ids}
            )

    def _commit(
        self,
        object_type: str,
        obj: hd.HubObject,
        clean: dict[str, str | None],
        modified_at: datetime | None,
    ) -> None:
        now = self.clock.now()
        moment = modified_at or now
        before = {k: obj.props.get(k) for k in clean}
        obj.props.update(clean)
        self.tables[object_type].reindex(obj, before)
        obj.props[hd.LAST_MODIFIED[object_type]] = iso(moment)
        obj.updated_at, obj.written_ms = moment, millis(now)
        obj.typed.clear()
        self.tables[object_type].changed()

    def _create(
        self,
        object_type: str,
        props: dict[str, Any],
        *,
        system: bool = False,
        modified_at: datetime | None = None,
    ) -> hd.HubObject:
        clean, problems = self._validate(object_type, props, system=system)
        if object_type == "notes" and not clean.get("hs_timestamp"):
            msg = "hs_timestamp is required when creating a note"
            problems.append(hd.PropertyValueError("hs_timestamp", "REQUIRED_PROPERTY", msg).detail)
        if problems:
            raise invalid_properties(problems)
        self._check_unique(object_type, clean)
        table, moment = self.tables[object_type], modified_at or self.clock.now()
        oid = table.next_id
        base = {"hs_object_id": str(oid), hd.CREATED[object_type]: iso(moment)}
        obj = self._insert(object_type, oid, {**base, **clean}, moment, moment)
        self._commit(object_type, obj, {}, modified_at)
        return obj

    def _check_unique(self, object_type: str, clean: dict[str, str | None]) -> None:
        for name, value in clean.items():
            if value and self.properties[object_type][name].unique:
                existing = self.tables[object_type].find(value, name)
                if existing is not None:
                    raise HttpError(
                        409,
                        "CONFLICT",
                        f"{hd.SINGULAR[object_type].title()} already exists. Existing ID: {existing.id}",
                    )

    def _archive(self, object_type: str, obj: hd.HubObject) -> None:
        obj.archived, obj.archived_at = True, self.clock.now()
        self.tables[object_type].forget(obj)
        self.tables[object_type].changed(membership=True)
        for members in self.lists.values():
            members["members"].pop(str(obj.id), None)

    def _merge(self, object_type: str, gone: hd.HubObject, survivor: hd.HubObject) -> None:
        parts = (survivor.props.get("hs_merged_object_ids"), gone.props.get("hs_merged_object_ids"))
        merged = ";".join([i for part in parts if part for i in part.split(";")] + [str(gone.id)])
        gone.merged_into = survivor.id
        self._move_associations(object_type, gone.id, survivor.id)
        self.tables[object_type].forget(gone)
        self._commit(object_type, survivor, {"hs_merged_object_ids": merged}, None)
        self.tables[object_type].changed(membership=True)

    def _move_associations(self, object_type: str, gone: int, survivor: int) -> None:
        """The merged record's associations move to the survivor; its primary company stays."""
        for (src, dst), by_id in list(self.edges.items()):
            if src != object_type:
                continue
            for to_id, kinds in by_id.pop(gone, {}).items():
                self.edges[(dst, src)].get(to_id, {}).pop(gone, None)
                had_primary = bool(kinds & set(PRIMARY_TYPES.values()))
                keep = src == "contacts" and dst == "companies" and self._has_primary(survivor)
                self._link(src, survivor, dst, to_id, primary=had_primary and not keep)

    def _link(self, src: str, src_id: int, dst: str, dst_id: int, *, primary: bool) -> None:
        """Associate both ways; a contact has one primary company, so a new one replaces it."""
        if (src, dst) == ("companies", "contacts"):
            src, src_id, dst, dst_id = dst, dst_id, src, src_id
        forward, back = {ASSOCIATION_TYPES[(src, dst)]}, {ASSOCIATION_TYPES[(dst, src)]}
        if primary and (src, dst) in PRIMARY_TYPES:
            self._drop_primary(src_id)
            forward.add(PRIMARY_TYPES[(src, dst)])
            back.add(PRIMARY_TYPES[(dst, src)])
            contact = self.tables["contacts"].objects[src_id]
            contact.props["associatedcompanyid"] = str(dst_id)
            contact.typed.clear()
        self.edges[(src, dst)].setdefault(src_id, {}).setdefault(dst_id, set()).update(forward)
        self.edges[(dst, src)].setdefault(dst_id, {}).setdefault(src_id, set()).update(back)

    def _drop_primary(self, contact_id: int) -> None:
        for company_id, kinds in self.edges[("contacts", "companies")].get(contact_id, {}).items():
            kinds.discard(PRIMARY_TYPES[("contacts", "companies")])
            reverse = self.edges[("companies", "contacts")].get(company_id, {})
            reverse.get(contact_id, set()).discard(PRIMARY_TYPES[("companies", "contacts")])

    def _has_primary(self, contact_id: int) -> bool:
        edges = self.edges[("contacts", "companies")].get(contact_id, {})
        return any(PRIMARY_TYPES[("contacts", "companies")] in kinds for kinds in edges.values())

    # ----------------------------------------------------------------- HTTP: objects

    def _type(self, request: Request, key: str = "type") -> str:
        raw = request.params[key]
        name = TYPE_ALIASES.get(raw, raw)
        if name not in self.tables:
            raise HttpError(400, "VALIDATION_ERROR", f"Unable to infer object type from: {raw}")
        return name

    def _render(self, object_type: str, obj: hd.HubObject, names: Iterable[str] | None = None) -> dict[str, Any]:
        wanted = list(names or hd.DEFAULT_PROPERTIES[object_type])
        wanted += ["hs_object_id", hd.CREATED[object_type], hd.LAST_MODIFIED[object_type]]
        known = self.properties[object_type]
        props = {n: obj.props.get(n) for n in dict.fromkeys(wanted) if n in known}
        out = {
            "id": str(obj.id),
            "properties": props,
            "createdAt": iso(obj.created_at),
            "updatedAt": iso(obj.updated_at),
            "archived": obj.archived,
        }
        if obj.archived and obj.archived_at is not None:
            out["archivedAt"] = iso(obj.archived_at)
        return out

    def _associations_block(self, object_type: str, obj: hd.HubObject, targets: list[str]) -> dict[str, Any]:
        block: dict[str, Any] = {}
        for raw in targets:
            dst = TYPE_ALIASES.get(raw, raw)
            edges = self.edges.get((object_type, dst), {}).get(obj.id, {})
            rows = [
                {"id": str(t), "type": self._v3_label(object_type, dst, k)}
                for t, kinds in sorted(edges.items())
                if self._alive(dst, t)
                for k in sorted(kinds)
            ]
            if rows:
                block[dst] = {"results": rows}
        return block

    @staticmethod
    def _v3_label(src: str, dst: str, kind: int) -> str:
        base = f"{hd.SINGULAR[src]}_to_{hd.SINGULAR[dst]}"
        return base if kind == PRIMARY_TYPES.get((src, dst)) else f"{base}_unlabeled"

    def _alive(self, object_type: str, oid: int) -> bool:
        obj = self.tables[object_type].objects.get(oid)
        return obj is not None and not obj.archived and obj.merged_into is None

    @staticmethod
    def _not_found(object_id: str) -> HttpError:
        return HttpError(
            404,
            "OBJECT_NOT_FOUND",
            "Object not found.  objectId are usually numeric.",
            context={"id": [object_id]},
        )

    def _batch_response(
        self,
        status: int,
        results: list[dict[str, Any]],
        errors: list[dict[str, Any]],
        started: datetime,
    ) -> Response:
        body: dict[str, Any] = {
            "status": "COMPLETE",
            "results": results,
            "startedAt": iso(started),
            "completedAt": iso(self.clock.now()),
        }
        if errors:
            body.update(numErrors=len(errors), errors=errors)
        return Response(207 if errors else status, body)
