"""Outbox handlers: how each kind of exactly-once side effect is looked up and performed in the CRM.

The drain loop (:mod:`sync_daemon.outbox`) knows nothing of CRMs; these handlers know only the connector seam
(:class:`connectors.base.Writer`), so they serve Salesforce and HubSpot alike. A handler's ``find`` is what
makes a retry safe: after a crash or a lost reply the intent is resolved by its key in the CRM, never blindly
repeated.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from connectors.base import Note, ProtocolError, RecordError, RecordUpdate

if TYPE_CHECKING:
    from collections.abc import Mapping

    from connectors.base import Writer
    from connectors.webhook import WebhookSender
    from sync_daemon.outbox import IntentHandler
    from sync_daemon.store import Intent

NOTE = "note"
AUDIENCE = "audience"
ASSESSMENT = "assessment"
ASSESSMENT_PRIORITY = 10  # drained first: a survey a day late is felt by the customer
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


class WebhookSenders(Protocol):
    """Gives the sender of a webhook channel (built at the entrypoint, with the secret from the environment)."""

    def sender(self, channel: Mapping[str, object]) -> WebhookSender:
        """The sender for this channel's URL and secret."""
        ...


@dataclass(frozen=True)
class AssessmentHandler:
    """An assessment send through its channel: the contact's request fields, an audience, or a webhook.

    Only audiences can be looked up. Writing the request fields again writes the same values (a CRM workflow
    fires on a change, so it does not fire twice), and the webhook carries the send's key as its idempotency
    key, so the survey tool drops a repeat: a retry after a lost reply is safe on every channel.

    **Audiences re-enroll.** The CRM workflow or survey tool behind a campaign or list fires when a member is
    *added*, and every cycle of a kind reuses the same campaign or list: a contact still in it from an earlier
    cycle would be "added" as a no-op (Salesforce's DUPLICATE_VALUE, HubSpot's idempotent add) and never asked
    again. So an audience send removes the contact's membership, if any, and then adds it: each send is a fresh
    "member added".

    Exactly once still holds, because the outbox calls :meth:`find` only on a retry (``intent.tried_before``),
    never before a first attempt:

    - first attempt: :meth:`perform` removes (if present), then adds;
    - a retry: a membership found means the add landed (our remove ran before it, so an old membership cannot
      have survived a remove that worked): done, nothing is sent again. No membership means the add did not land
      (or never ran): :meth:`perform` again, whose remove finds nothing and whose add is the one send.

    The one imperfect case: a remove that failed without taking effect (a refusal, a timeout before the CRM
    acted), then a retry whose :meth:`find` sees the old membership and counts it as done. That loses this
    cycle's re-enrollment (the contact is not asked this time) rather than risk asking twice: the outbox cannot
    tell that old membership from the one our add would have made.

    This rests on one holder at a time. A perform that outlives its lease (the connector's own retries inside
    the remove and the add can each wait minutes) lets a second holder's :meth:`find` run between our remove and
    our add, see nothing, and remove and add again after us: two "member added". The plain add could not double
    that way; keeping each send well inside the drain's lease is what rules it out.
    """

    writer: Writer
    webhooks: WebhookSenders | None = None

    def find(self, intent: Intent) -> dict[str, object] | None:
        """The membership when the channel is an audience the contact is already in; else None."""
        p = intent.payload
        channel = _channel(p)
        if channel.get("type") in _AUDIENCES:
            member = self.writer.find_audience_member(str(channel["audience_id"]), str(p["contact_id"]))
            return {"member_id": member} if member is not None else None
        return None

    def perform(self, intent: Intent) -> dict[str, object]:
        """Send it through the channel the policy chose when it was recorded."""
        p = intent.payload
        channel = _channel(p)
        kind = channel.get("type")
        if kind in _AUDIENCES:
            return self._reenroll(channel, str(p["contact_id"]))
        if kind == "webhook":
            if self.webhooks is None:
                raise ProtocolError("a webhook send was recorded but no webhook sender is configured")
            body = {k: v for k, v in p.items() if k != "channel"} | {"key": intent.key}
            receipt = self.webhooks.sender(channel).send(intent.key, body)
            return {"status": receipt.status, "receipt": receipt.response_id, "duplicate": receipt.duplicate}
        return self._write_fields(intent)

    def _reenroll(self, channel: Mapping[str, object], contact: str) -> dict[str, object]:
        """Remove the contact's membership (if any), then add it: a new "member added" for this send."""
        audience, status = str(channel["audience_id"]), channel.get("status")
        removed = self.writer.remove_audience_member(audience, contact)
        member = self.writer.add_audience_member(audience, contact, str(status) if status is not None else None)
        return {"member_id": member, "reenrolled": removed}

    def _write_fields(self, intent: Intent) -> dict[str, object]:
        p = intent.payload
        requested = datetime.fromisoformat(str(p["requested_at"]))
        values = {"assessment_kind": p["kind_label"], "assessment_persona": p["persona"],
                  "assessment_cycle": p["cycle"], "assessment_requested_at": requested}  # fmt: skip
        contact = str(p["contact_id"])
        for results in self.writer.write("contacts", [RecordUpdate(contact, values)]):
            for result in results:
                if not result.ok:
                    raise RecordError(
                        contact, result.code or "REJECTED", result.message or "the CRM refused the fields"
                    )
        return {"fields": sorted(values)}


_AUDIENCES = frozenset({"salesforce_campaign", "hubspot_list"})


def _channel(payload: Mapping[str, object]) -> Mapping[str, object]:
    channel = payload.get("channel")
    return channel if isinstance(channel, dict) else {"type": "crm_fields"}


def handlers(writer: Writer, webhooks: WebhookSenders | None = None) -> dict[str, IntentHandler]:
    """Every handler, by intent kind."""
    return {
        NOTE: NoteHandler(writer),
        AUDIENCE: AudienceHandler(writer),
        ASSESSMENT: AssessmentHandler(writer, webhooks),
    }
