"""Seed records translated into HubSpot companies and contacts.

Property names are exactly those of ``mappings/hubspot.yaml`` (the contract between the sandbox and
the connector); values use HubSpot's vocabularies: lifecycle stages, buying-role option values,
``a;b;c`` multi-checkbox values, numeric owner ids, and strings throughout.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from sync_daemon.sandbox.hubspot_data import (
    COMPANY_ID_BASE,
    CONTACT_ID_BASE,
    NEUTRAL_ROLE,
    OWNER_ID_BASE,
    format_datetime,
    format_number,
)

if TYPE_CHECKING:
    from sync_daemon.sandbox import seed


def _iso_day(day: date | None) -> str | None:
    return day.isoformat() if day else None


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def company_record(acc: seed.SeedAccount) -> tuple[int, dict[str, str | None], datetime]:
    """A seed account as HubSpot company properties (names exactly as ``mappings/hubspot.yaml``)."""
    oid = COMPANY_ID_BASE + acc.key
    created = min(acc.modified_at, _midnight(acc.close_date)) - timedelta(days=45)
    owner = str(OWNER_ID_BASE + int(acc.owner.rsplit("-", 1)[1]))
    props = {
        "hs_object_id": str(oid),
        "createdate": format_datetime(created),
        "hs_lastmodifieddate": format_datetime(acc.modified_at),
        "name": acc.name,
        "domain": acc.website.removeprefix("https://www."),
        "hubspot_owner_id": owner,
        "lifecyclestage": "customer" if acc.customer else "opportunity",
        "closedate": format_datetime(_midnight(acc.close_date)),
        "numberofemployees": str(acc.employees),
        "industry": acc.industry,
        "website": acc.website,
        "csm_name": acc.csm_name,
        "csm_email": acc.csm_email,
        "csm_phone": acc.csm_phone,
        "onboarding_start_date": _iso_day(acc.onboarding_start),
        "contract_value": format_number(acc.contract_value),
        "plan_tier": acc.segment,
        "region": acc.region,
        "onboarding_steps": ";".join(acc.onboarding_steps) or None,
        "handoff_override": acc.handoff_override,
        "customer_goals": acc.goals,
        "active_users": str(acc.active_users),
        "licensed_seats": str(acc.licensed_seats),
        "mrr": format_number(acc.mrr),
        "integration_connected": str(acc.integration_connected).lower(),
        "last_login_at": format_datetime(acc.last_login_at) if acc.last_login_at else None,
        "daily_active_pct": format_number(acc.daily_active_pct),
    }
    return oid, props, created


def contact_record(con: seed.SeedContact) -> tuple[int, dict[str, str | None], datetime]:
    """A seed contact as HubSpot contact properties; the buying role in HubSpot's option values."""
    oid = CONTACT_ID_BASE + con.key
    created = con.modified_at - timedelta(days=30 + con.key % 90)
    props = {
        "hs_object_id": str(oid),
        "createdate": format_datetime(created),
        "lastmodifieddate": format_datetime(con.modified_at),
        "firstname": con.first_name,
        "lastname": con.last_name,
        "email": con.email,
        "phone": con.phone,
        "jobtitle": con.title or None,
        "hs_buying_role": NEUTRAL_ROLE.get(con.role) if con.role else None,
        "hs_email_optout": str(con.opted_out).lower(),
        "lifecyclestage": "customer",
        "associatedcompanyid": str(COMPANY_ID_BASE + con.account_key),
    }
    return oid, props, created
