"""Outbox handlers: how each kind of exactly-once side effect is looked up and performed in the CRM.

The drain loop (:mod:`sync_daemon.outbox`) knows nothing of CRMs; these handlers know only the connector seam
(:class:`connectors.base.Writer`), so they serve Salesforce and HubSpot alike. A handler's ``find`` is what
makes a retry safe: after a crash or a lost reply the intent is resolved by its key in the CRM, never blindly
repeated.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from connectors.base import Note

if TYPE_CHECKING:
    from connectors.base import Writer
    from sync_daemon.outbox import IntentHandler
    from sync_daemon.store import Intent

NOTE = "note"
AUDIENCE = "audience"
HANDOFF_NOTE_PRIORITY = 20  # drained after assessment sends (lower goes first): a note a cycle late harms least


def note_payload(account_id: str, title: str, body: str) -> dict[str, object]:
    """What a note intent stores (the key is the intent's own)."""
    return {"account_id": account_id, "title": title, "body": body}


def audience_payload(audience_id: str, contact_id: str, status: str | None = None) -> dict[str, object]:
    """What an audience-membership intent stores."""
    return {"audience_id": audience_id, "contact_id": contact_id, "status": status}


@dataclass(frozen=True)
class NoteHandler:
    """A note on an account, found by its key."""

    writer: Writer

    def find(self, intent: Intent) -> dict[str, object] | None:
        """The note's id when the CRM already has it."""
        ref = self.writer.find_note(str(intent.payload["account_id"]), intent.key)
        return {"note_id": ref.id} if ref is not None else None

    def perform(self, intent: Intent) -> dict[str, object]:
        """Create the note."""
        p = intent.payload
        ref = self.writer.create_note(Note(intent.key, str(p["account_id"]), str(p["title"]), str(p["body"])))
        return {"note_id": ref.id}


@dataclass(frozen=True)
class AudienceHandler:
    """A contact added to a survey audience (a Salesforce Campaign, a HubSpot list)."""

    writer: Writer

    def find(self, intent: Intent) -> dict[str, object] | None:
        """The membership when the contact is already in the audience."""
        p = intent.payload
        member = self.writer.find_audience_member(str(p["audience_id"]), str(p["contact_id"]))
        return {"member_id": member} if member is not None else None

    def perform(self, intent: Intent) -> dict[str, object]:
        """Add the contact."""
        p = intent.payload
        status = p.get("status")
        member = self.writer.add_audience_member(
            str(p["audience_id"]), str(p["contact_id"]), str(status) if status is not None else None
        )
        return {"member_id": member}


def handlers(writer: Writer) -> dict[str, IntentHandler]:
    """Every handler, by intent kind."""
    return {NOTE: NoteHandler(writer), AUDIENCE: AudienceHandler(writer)}
