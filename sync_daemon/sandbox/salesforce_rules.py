"""Object-specific rules of the sandbox org: computed fields, references, duplicates, notes.

These are the org's own rules that a client meets only at write time: a Contact's ``Name`` is
computed, a ContentNote becomes a ContentDocument with the same id and is linked to its owner, a
document can be linked to an entity once, a contact can be a campaign member once, and a reference
must point at a live record of the right object.
"""

from __future__ import annotations

import base64
import html
import re
from typing import TYPE_CHECKING, Any

from sync_daemon.sandbox.salesforce_schema import find_object
from sync_daemon.sandbox.salesforce_values import RecordError

if TYPE_CHECKING:
    from sync_daemon.sandbox.salesforce_schema import FieldDef, ObjectDef
    from sync_daemon.sandbox.salesforce_store import Row, Store

USER_PREFIX = "005"
_TAG = re.compile(r"<[^>]+>")


def _target(sobject: str) -> str:
    """ContentDocument ids are ContentNote ids here (Salesforce gives a note its document's id)."""
    return "ContentNote" if sobject == "ContentDocument" else sobject


def check_reference(store: Store, fdef: FieldDef, value: str) -> None:
    """A reference must name a live record of a target object (any user id passes)."""
    for sobject in fdef.reference_to:
        if sobject == "User":
            if value.startswith(USER_PREFIX):
                return
            continue
        obj = find_object(_target(sobject))
        if obj and value.startswith(obj.key_prefix) and store.live(obj.name, value) is not None:
            return
    raise RecordError(
        "INVALID_CROSS_REFERENCE_KEY",
        f"{fdef.label}: id value of incorrect type or no such record: {value}",
        [fdef.name],
    )


def derive(obj: ObjectDef, row: Row) -> None:
    """Recompute the fields an org computes from others."""
    if obj.name == "Contact":
        row["Name"] = " ".join(p for p in (row.get("FirstName"), row.get("LastName")) if p)
    elif obj.name == "ContentNote":
        raw = base64.b64decode(row.get("Content") or "")
        text = html.unescape(_TAG.sub(" ", raw.decode("utf-8", errors="replace")))
        row.update(
            TextPreview=" ".join(text.split())[:255] or None,
            ContentSize=len(raw),
            FileType="SNOTE",
            FileExtension="snote",
        )


def _live_rows(store: Store, sobject: str) -> list[Row]:
    return [r for r in store.tables[sobject].values() if not r["IsDeleted"]]


def before_insert(store: Store, obj: ObjectDef, values: dict[str, Any]) -> None:
    """Refuse the duplicates an org refuses."""
    if obj.name == "ContentDocumentLink":
        doc, entity = values["ContentDocumentId"], values["LinkedEntityId"]
        if any(r["ContentDocumentId"] == doc and r["LinkedEntityId"] == entity for r in _live_rows(store, obj.name)):
            raise RecordError(
                "DUPLICATE_VALUE",
                f"Document with ID: {doc} is already linked with the entity with ID: {entity}",
                ["LinkedEntityId"],
            )
    elif obj.name == "CampaignMember":
        key = (values.get("CampaignId"), values.get("ContactId"))
        if any((r["CampaignId"], r["ContactId"]) == key for r in _live_rows(store, obj.name)):
            raise RecordError("DUPLICATE_VALUE", "Already a campaign member.", ["ContactId"])


def after_insert(store: Store, obj: ObjectDef, row: Row) -> None:
    """A new note is shared with its owner through a ContentDocumentLink, as Salesforce does."""
    if obj.name == "ContentNote":
        link = find_object("ContentDocumentLink")
        if link is not None:
            store.insert_row(
                link,
                {
                    "ContentDocumentId": row["Id"],
                    "LinkedEntityId": row["OwnerId"],
                    "ShareType": "I",
                    "Visibility": "AllUsers",
                },
            )
