"""The seed data set as Salesforce records, with the field names of the shipped mapping.

Accounts become ``Account`` rows (``Type`` Customer or Prospect, ``Plan_Tier__c`` from the segment,
onboarding steps as a ``a;b;c`` multi-select), contacts become ``Contact`` rows linked by
``AccountId`` (buying roles in Salesforce's picklist vocabulary). ``SystemModstamp`` is the seed's
``modified_at``. Ids are deterministic: the n-th seed account is always the same ``001...`` id.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from sync_daemon.sandbox import seed
from sync_daemon.sandbox.salesforce_schema import ACCOUNT, CAMPAIGN, CONTACT
from sync_daemon.sandbox.salesforce_values import make_id

if TYPE_CHECKING:
    from sync_daemon.sandbox.salesforce_store import Store

ORG_ID = make_id("00D", 1)
INTEGRATION_USER_ID = make_id("005", 1)
ROLE_VALUES: dict[str | None, str | None] = {
    "decision_maker": "Decision Maker",
    "champion": "Champion",
    "end_user": "End User",
    "business_influencer": "Influencer",
    None: None,
}
CAMPAIGNS = (
    {"Name": "Onboarding Assessment", "IsActive": True, "Status": "In Progress", "Type": "Email"},
    {"Name": "Six-Month Assessment", "IsActive": True, "Status": "Planned", "Type": "Email"},
)


def owner_id(owner: str) -> str:
    """The user id behind a seed owner label such as ``owner-07``."""
    return make_id("005", 100 + int(owner.rsplit("-", 1)[-1]))


def account_fields(acct: seed.SeedAccount) -> dict[str, Any]:
    """One seed account as Account field values (Python-typed)."""
    return {
        "Name": acct.name,
        "Type": "Customer" if acct.customer else "Prospect",
        "OwnerId": owner_id(acct.owner),
        "CSM_Name__c": acct.csm_name,
        "CSM_Email__c": acct.csm_email,
        "CSM_Phone__c": acct.csm_phone,
        "Close_Date__c": acct.close_date,
        "Onboarding_Start__c": acct.onboarding_start,
        "Contract_Value__c": acct.contract_value,
        "NumberOfEmployees": acct.employees,
        "Plan_Tier__c": acct.segment,
        "Region__c": acct.region,
        "Industry": acct.industry,
        "Website": acct.website,
        "Onboarding_Steps__c": ";".join(acct.onboarding_steps) or None,
        "Handoff_Override__c": acct.handoff_override,
        "Customer_Goals__c": acct.goals,
        "Active_Users__c": float(acct.active_users),
        "Licensed_Seats__c": float(acct.licensed_seats),
        "MRR__c": acct.mrr,
        "Integration_Connected__c": acct.integration_connected,
        "Last_Login__c": acct.last_login_at,
        "Daily_Active_Pct__c": acct.daily_active_pct,
    }


def contact_fields(contact: seed.SeedContact, account_id: str) -> dict[str, Any]:
    """One seed contact as Contact field values, linked to its account."""
    return {
        "AccountId": account_id,
        "FirstName": contact.first_name,
        "LastName": contact.last_name,
        "Email": contact.email,
        "Phone": contact.phone,
        "Title": contact.title or None,
        "Buying_Role__c": ROLE_VALUES[contact.role],
        "HasOptedOutOfEmail": contact.opted_out,
        "OwnerId": INTEGRATION_USER_ID,
    }


def load(store: Store, accounts: int, contacts: int, seed_value: int) -> None:
    """Fill an empty store with the seed accounts, their contacts and two campaigns."""
    account_ids: dict[int, str] = {}
    for acct in seed.accounts(accounts, seed_value):
        modified = acct.modified_at
        ident = store.insert_row(ACCOUNT, account_fields(acct), modstamp=modified)
        store.tables["Account"][ident]["CreatedDate"] = modified - timedelta(days=30)
        account_ids[acct.key] = ident
    if accounts:
        for contact in seed.contacts(contacts, accounts, seed_value):
            fields = contact_fields(contact, account_ids[contact.account_key])
            ident = store.insert_row(CONTACT, fields, modstamp=contact.modified_at)
            store.tables["Contact"][ident]["CreatedDate"] = contact.modified_at - timedelta(days=30)
    start = seed.BASE_TIME.date()
    for number, campaign in enumerate(CAMPAIGNS):
        dates = {
            "StartDate": start + timedelta(days=180 * number),
            "EndDate": date(start.year + 1, 12, 31),
        }
        store.insert_row(CAMPAIGN, {**campaign, **dates}, modstamp=seed.BASE_TIME)
