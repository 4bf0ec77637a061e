"""Handoff notes as Lightning notes: a ``ContentNote`` linked to its account, found again by key.

Lightning shows ``ContentNote`` (``Title``, ``Content`` = base64 of HTML) attached to a record by a
``ContentDocumentLink`` (the note's id is its ContentDocument's id). Both are created in ONE
``/composite`` call with ``allOrNone`` and an ``@{note.id}`` reference, so the CRM never holds a
note without its link.

ContentNote has no field of ours to hold the daemon's idempotency key, so the title carries a short
reference derived from it (the first 12 hex digits of its SHA-256: ``"Handoff · ref 3f9a1c2b7d4e"``)
and :func:`find_note` looks for it among the documents linked to the account. A person who edits that
suffix out of the title makes the note invisible to the daemon; that is the price of not needing a
custom field on a standard object.

The body is the daemon's plain text rendered as HTML: every line escaped (nothing a user typed can
become markup), blank-line-separated paragraphs as ``<p>``, ``- `` lines as ``<ul><li>``.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
from typing import TYPE_CHECKING, Any

import structlog
from simple_salesforce.format import format_soql

from connectors.base import NoteRef, ProtocolError, RecordError, RetriableError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    from connectors.base import Note
    from connectors.retry import RetryPolicy

log = structlog.get_logger(__name__)

REF_LENGTH = 12
TITLE_MAX = 255
_IN_CHUNK = 200
_BULLET = "- "
_BLANK_LINES = re.compile(r"\n[ \t]*\n")
_TRANSIENT_CODES = frozenset({"UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE", "UNKNOWN_EXCEPTION"})
_HALTED = "PROCESSING_HALTED"
_SERVER_ERROR = 500
_MULTIPLE_CHOICES = 300
_SUBREQUESTS = 2


def note_ref(key: str) -> str:
    """The short reference of an idempotency key, as the note's title carries it."""
    return hashlib.sha256(key.encode()).hexdigest()[:REF_LENGTH]


def note_title(title: str, key: str) -> str:
    """The title shown in Salesforce, ending in the key's reference (cut to fit 255 characters)."""
    suffix = f" · ref {note_ref(key)}"
    head = " ".join(title.split()) or "Note"
    return head[: TITLE_MAX - len(suffix)].rstrip() + suffix


def _block_html(block: str) -> Iterator[str]:
    """One paragraph block: runs of ``- `` lines become a list, other runs a ``<p>`` with ``<br>``."""
    lines = [line.rstrip() for line in block.split("\n") if line.strip()]
    start = 0
    while start < len(lines):
        bullet = lines[start].lstrip().startswith(_BULLET)
        end = start
        while end < len(lines) and lines[end].lstrip().startswith(_BULLET) == bullet:
            end += 1
        run = lines[start:end]
        if bullet:
            items = "".join(f"<li>{html.escape(line.lstrip()[len(_BULLET) :].strip())}</li>" for line in run)
            yield f"<ul>{items}</ul>"
        else:
            yield "<p>" + "<br>".join(html.escape(line.strip()) for line in run) + "</p>"
        start = end


def note_html(text: str) -> str:
    """The plain text as the HTML a ContentNote holds; every character the user typed is escaped."""
    normalised = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not normalised:
        return ""
    return "".join(part for block in _BLANK_LINES.split(normalised) for part in _block_html(block))


def composite_request(note: Note, api_version: str) -> dict[str, Any]:
    """The ``/composite`` body: the ContentNote, then its link to the account, all or none."""
    base = f"/services/data/v{api_version}/sobjects"
    content = base64.b64encode(note_html(note.body).encode("utf-8")).decode("ascii")
    return {
        "allOrNone": True,
        "compositeRequest": [
            {
                "method": "POST",
                "url": f"{base}/ContentNote",
                "referenceId": "note",
                "body": {"Title": note_title(note.title, note.key), "Content": content},
            },
            {
                "method": "POST",
                "url": f"{base}/ContentDocumentLink",
                "referenceId": "link",
                "body": {
                    "ContentDocumentId": "@{note.id}",
                    "LinkedEntityId": note.account_id,
                    "ShareType": "V",
                    "Visibility": "AllUsers",
                },
            },
        ],
    }


def _succeeded(sub: dict[str, Any]) -> bool:
    status = sub.get("httpStatusCode")
    return isinstance(status, int) and status < _MULTIPLE_CHOICES


def _sub_error(sub: dict[str, Any]) -> tuple[str, str]:
    body = sub.get("body")
    first = body[0] if isinstance(body, list) and body and isinstance(body[0], dict) else {}
    return str(first.get("errorCode") or "UNKNOWN"), " ".join(str(first.get("message") or "").split())


def created_note(note: Note, answer: Any) -> NoteRef:
    """The note's id from a ``/composite`` answer, or why the CRM refused it.

    With ``allOrNone`` a failure rolls both back: the subrequest that failed carries the reason, the
    others say PROCESSING_HALTED. Transient reasons are :class:`RetriableError` (nothing was kept),
    the rest a :class:`RecordError` on the account with the CRM's code and message.
    """
    subs = answer.get("compositeResponse") if isinstance(answer, dict) else None
    if not isinstance(subs, list) or len(subs) != _SUBREQUESTS or not all(isinstance(s, dict) for s in subs):
        raise ProtocolError("Salesforce answered a note's /composite call without two subresponses")
    if all(_succeeded(s) for s in subs):
        body = subs[0].get("body")
        note_id = body.get("id") if isinstance(body, dict) else None
        if not isinstance(note_id, str) or not note_id:
            raise ProtocolError("Salesforce created a note but answered without its id")
        return NoteRef(note_id, note.key)
    failures = [_sub_error(s) for s in subs if not _succeeded(s)]
    code, message = next((f for f in failures if f[0] != _HALTED), failures[0])
    statuses = [s.get("httpStatusCode") for s in subs]
    if code in _TRANSIENT_CODES or any(isinstance(s, int) and s >= _SERVER_ERROR for s in statuses):
        raise RetriableError(f"Salesforce refused the note for now: {code}: {message}")
    raise RecordError(note.account_id, code, message)


def create_note(
    note: Note,
    *,
    api_version: str,
    send: Callable[[dict[str, Any]], Any],
    query: Callable[[str], list[dict[str, Any]]],
    retry: RetryPolicy,
) -> NoteRef:
    """Create the note in one call; before any retry, look it up by key first.

    ``send`` and ``query`` make a single try each; the retry policy runs the whole attempt. A failed
    try may still have committed (a reply lost after the CRM wrote), so a retry that blindly posted
    again could make a second note: every retry asks :func:`find_note` first and returns what it
    finds. (A try still running at the CRM when its reply timed out is the one case this cannot see;
    the policy's backoff before the lookup is what narrows it.)
    """
    body = composite_request(note, api_version)
    tries = 0

    def attempt() -> NoteRef:
        nonlocal tries
        tries += 1
        if tries > 1:
            found = find_note(query, note.account_id, note.key)
            if found is not None:
                log.info("crm.note_recovered", crm="salesforce", account_id=note.account_id, note_id=found.id)
                return found
        return created_note(note, send(body))

    return retry.call(attempt)


def _chunks(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def find_note(query: Callable[[str], list[dict[str, Any]]], account_id: str, key: str) -> NoteRef | None:
    """The note linked to the account whose title carries the key's reference (the oldest, if several)."""
    links = query(
        format_soql("SELECT ContentDocumentId FROM ContentDocumentLink WHERE LinkedEntityId = {}", account_id)
    )
    doc_ids = sorted({str(r["ContentDocumentId"]) for r in links if isinstance(r, dict) and r.get("ContentDocumentId")})
    suffix = f"ref {note_ref(key)}"
    found: list[dict[str, Any]] = []
    for chunk in _chunks(doc_ids, _IN_CHUNK):
        soql = format_soql(
            "SELECT Id, Title, CreatedDate FROM ContentNote WHERE Id IN {} AND Title LIKE {}"
            " ORDER BY CreatedDate ASC, Id ASC",
            list(chunk),
            f"%{suffix}",
        )
        found += [r for r in query(soql) if isinstance(r, dict) and str(r.get("Title") or "").endswith(suffix)]
    if not found:
        return None
    found.sort(key=lambda r: (str(r.get("CreatedDate") or ""), str(r.get("Id"))))
    if len(found) > 1:
        log.warning("crm.note_duplicates", crm="salesforce", account_id=account_id, notes=len(found))
    return NoteRef(str(found[0]["Id"]), key)
