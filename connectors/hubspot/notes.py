"""Notes on companies, created once and found again by the daemon's own key.

HubSpot has no idempotency key for notes, so each note carries ours in a text property of its own,
:data:`KEY_PROPERTY`, created on first use through the properties API. Finding a note never uses
search: search lags writes by seconds to minutes, and a note whose create reply was lost must be
found *now*, or the outbox would create it twice. Instead we read the company's notes through the v4
associations API (which is current) and batch-read their key property, 100 notes a call.

Creating is one call: ``POST /crm/v3/objects/notes`` with ``hs_timestamp``, the HTML body, the key
and the association to the company (note to company, type 190). It is never retried after a
failure that may have landed (see :meth:`Transport.call`): the caller resolves that by key.

The body is plain text turned into HTML here: every character the user typed is escaped, blank-line
separated paragraphs become ``<p>``, ``- `` lines become ``<ul><li>``; nothing typed becomes markup.
"""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING, Any

import structlog

from connectors.base import NoteRef, ProtocolError
from connectors.hubspot.associations import merge_answer
from connectors.hubspot.errors import RejectedError
from connectors.hubspot.wire import datetime_text

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping
    from datetime import datetime

    from connectors.base import Note
    from connectors.hubspot.client import HubSpotApis, Transport

log = structlog.get_logger(__name__)

KEY_PROPERTY = "sync_daemon_key"
NOTE_TO_COMPANY = 190
READ_LIMIT = 100
DEFAULT_GROUP = "engagement"
HTTP_NOT_FOUND = 404
HTTP_CONFLICT = 409
_BULLET = "- "
_PARAGRAPHS = re.compile(r"\n[ \t]*\n")


def _lines_html(lines: list[str]) -> list[str]:
    """Runs of text lines as one ``<p>`` (lines joined by ``<br>``), runs of bullets as one ``<ul>``."""
    out: list[str] = []
    text: list[str] = []
    items: list[str] = []
    for line in [*lines, None]:
        is_item = line is not None and line.lstrip().startswith(_BULLET)
        if text and (line is None or is_item):
            out.append("<p>" + "<br>".join(text) + "</p>")
            text = []
        if items and (line is None or not is_item):
            out.append("<ul>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>")
            items = []
        if line is None:
            break
        if is_item:
            items.append(html.escape(line.lstrip()[len(_BULLET) :].strip()))
        else:
            text.append(html.escape(line.strip()))
    return out


def note_html(title: str, body: str) -> str:
    """The note as HubSpot HTML: a bold title paragraph, then the escaped paragraphs and bullets."""
    parts = [f"<p><strong>{html.escape(title.strip())}</strong></p>"] if title.strip() else []
    normalised = body.replace("\r\n", "\n").replace("\r", "\n").strip()
    for block in _PARAGRAPHS.split(normalised):
        lines = [line for line in block.split("\n") if line.strip()]
        parts.extend(_lines_html(lines))
    return "".join(parts)


def note_request(note: Note, now: datetime) -> dict[str, Any]:
    """The body of the one create call: properties, key, and the association to the company."""
    return {
        "properties": {
            "hs_timestamp": datetime_text(now),
            "hs_note_body": note_html(note.title, note.body),
            KEY_PROPERTY: note.key,
        },
        "associations": [
            {
                "to": {"id": note.account_id},
                "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": NOTE_TO_COMPANY}],
            }
        ],
    }


def key_property_request(group: str) -> dict[str, Any]:
    """The definition of :data:`KEY_PROPERTY`: a plain text property, hidden from forms."""
    return {
        "name": KEY_PROPERTY,
        "label": "Sync daemon key",
        "type": "string",
        "fieldType": "text",
        "groupName": group,
        "description": "Idempotency key written by the sync daemon; do not edit.",
        "formField": False,
    }


def matching_note(data: Mapping[str, Any], key: str) -> NoteRef | None:
    """The note of a batch-read answer whose key property equals ``key``."""
    for result in data.get("results") or []:
        props = result.get("properties") if isinstance(result, dict) else None
        if isinstance(props, dict) and props.get(KEY_PROPERTY) == key and result.get("id") is not None:
            return NoteRef(id=str(result["id"]), key=key)
    return None


class NoteStore:
    """Creates and finds keyed notes on companies."""

    def __init__(self, apis: HubSpotApis, transport: Transport, clock: Callable[[], datetime]) -> None:
        """Call through ``apis`` under ``transport``; ``clock`` dates each note's ``hs_timestamp``."""
        self._apis = apis
        self._transport = transport
        self._clock = clock
        self._key_ready = False

    def ensure_key_property(self) -> None:
        """Create :data:`KEY_PROPERTY` on notes unless it exists (checked once per connector)."""
        if self._key_ready:
            return
        try:
            self._property(KEY_PROPERTY)
        except RejectedError as exc:
            if exc.status != HTTP_NOT_FOUND:
                raise
            self._create_key_property()
        self._key_ready = True

    def _property(self, name: str) -> dict[str, Any]:
        api = self._apis.properties
        return self._transport.call(lambda **kw: api.get_by_name("notes", name, **kw))

    def _create_key_property(self) -> None:
        """Create it in the group notes' own body property lives in; another process may win (409)."""
        group = str(self._property("hs_note_body").get("groupName") or DEFAULT_GROUP)
        api, body = self._apis.properties, key_property_request(group)
        try:
            self._transport.call(lambda **kw: api.create("notes", body, **kw))
        except RejectedError as exc:
            if exc.status != HTTP_CONFLICT:
                raise
        log.info("crm.property_created", crm="hubspot", object="notes", property=KEY_PROPERTY)

    def create(self, note: Note) -> NoteRef:
        """Create the note on its company in one call; a failure that may have landed is not retried."""
        self.ensure_key_property()
        api, body = self._apis.notes, note_request(note, self._clock())
        data = self._transport.call(lambda **kw: api.create(body, **kw), idempotent=False)
        if data.get("id") is None:
            raise ProtocolError("HubSpot created a note but answered no id")
        log.info("crm.note_created", crm="hubspot", account_id=note.account_id, note_id=str(data["id"]))
        return NoteRef(id=str(data["id"]), key=note.key)

    def find(self, account_id: str, key: str) -> NoteRef | None:
        """The company's note carrying ``key``, read through associations (never search)."""
        ids = sorted(self._note_ids(account_id), key=_numeric, reverse=True)  # newest first
        for start in range(0, len(ids), READ_LIMIT):
            found = matching_note(self._read_keys(ids[start : start + READ_LIMIT]), key)
            if found is not None:
                return found
        return None

    def _note_ids(self, account_id: str) -> Iterator[str]:
        """Ids of the notes associated with the company, following the per-id paging."""
        collected: dict[str, list[Mapping[str, Any]]] = {}
        inputs: list[dict[str, str]] = [{"id": account_id}]
        asked: set[str] = set()
        while inputs:
            pending = merge_answer(self._associations_page(inputs), collected)
            # an ``after`` seen before would loop forever: a server bug, not more data
            inputs = [{"id": i, "after": a} for i, a in pending.items() if a not in asked]
            asked.update(pending.values())
        for target in collected.get(account_id, []):
            if target.get("toObjectId") is not None:
                yield str(target["toObjectId"])

    def _associations_page(self, inputs: list[dict[str, str]]) -> dict[str, Any]:
        api, body = self._apis.associations, {"inputs": inputs}
        return self._transport.call(lambda **kw: api.get_page("companies", "notes", body, **kw))

    def _read_keys(self, ids: list[str]) -> dict[str, Any]:
        api = self._apis.notes_batch
        body = {"inputs": [{"id": i} for i in ids], "properties": [KEY_PROPERTY]}
        return self._transport.call(lambda **kw: api.read(body, **kw))


def _numeric(ident: str) -> tuple[int, str]:
    return (int(ident), ident) if ident.isdigit() else (-1, ident)
