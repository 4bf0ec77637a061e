"""A loopback HubSpot CRM: v3 objects, search, batches, properties and lists; v4 associations.

Close enough that hubspot-api-client 12 cannot tell: ``HubSpot(access_token=ACCESS_TOKEN,
host=server.url)``. Built from HubSpot's documentation and the traps in CRM_NOTES.md: the 10-second
and daily budgets with their 429 policies, the 5-per-second search limit, the 10,000-result search
cap, search lag, 207 multi-status batches and whole-batch 400s, per-id association paging. It
shares no code with :mod:`connectors`. One lock serialises requests: state stays consistent and the
emulator stays simple (the real API's concurrency is not what the tests probe).

Layout: :mod:`hubspot_data` (properties, values, seed translation), :mod:`hubspot_search`,
:mod:`hubspot_store` (limiter, tables), :mod:`hubspot_state` (the rules for writes),
:mod:`hubspot_objects` and :mod:`hubspot_meta` (routes), and this module (auth, limits, hooks).
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from sync_daemon.sandbox.hubspot_meta import MetaRoutes
from sync_daemon.sandbox.hubspot_objects import ObjectRoutes
from sync_daemon.sandbox.hubspot_store import HttpError
from sync_daemon.sandbox.server import Response

if TYPE_CHECKING:
    from collections.abc import Iterable
    from datetime import datetime

    from sync_daemon.sandbox.server import Clock, Request

ACCESS_TOKEN = "pat-sandbox-0000"  # noqa: S105 - the sandbox's own fake private-app token
AUTH_HELP = "https://developers.hubspot.com/docs/methods/auth/oauth-overview"


class HubSpotSandbox(ObjectRoutes, MetaRoutes):
    """The embedded HubSpot portal, seeded from :mod:`sync_daemon.sandbox.seed`."""

    def __init__(  # noqa: PLR0917 - the documented public signature
        self,
        accounts: int = 200,
        contacts: int = 1000,
        seed: int = 7,
        clock: Clock | None = None,
        tier: str = "professional",
        daily_limit: int = 650_000,
        enforce_rate_limits: bool = False,  # noqa: FBT001, FBT002 - the public signature
        search_lag_seconds: float = 0.0,
        timezone: str = "America/New_York",
    ) -> None:
        """Seed ``accounts`` companies and ``contacts`` contacts; limits are off unless enforced."""
        super().__init__(clock, tier, daily_limit, timezone)
        self.enforce_rate_limits = enforce_rate_limits
        self.search_lag_seconds = search_lag_seconds
        self._token_expired = False
        self._seed(accounts, contacts, seed)
        self._routes()

    def update(self, object_type: str, object_id: str, modified_at: datetime | None = None, **props: Any) -> None:
        """Change a record as a person in HubSpot would; ``modified_at`` backdates the commit."""
        with self.lock:
            obj = self._require(object_type, object_id)
            self._write(object_type, obj, props, system=True, modified_at=modified_at)

    def create(self, object_type: str, props: dict[str, Any], modified_at: datetime | None = None) -> str:
        """Create a record as a person in HubSpot would; answers its id."""
        with self.lock:
            return str(self._create(object_type, props, system=True, modified_at=modified_at).id)

    def archive(self, object_type: str, object_id: str) -> None:
        """Archive (soft-delete) a record: it leaves lists and search; ``archived=true`` has it."""
        with self.lock:
            self._archive(object_type, self._require(object_type, object_id))

    def merge(self, object_type: str, merged_id: str, into_id: str) -> None:
        """Merge ``merged_id`` into ``into_id``: GET by the old id answers the survivor."""
        with self.lock:
            self._merge(
                object_type,
                self._require(object_type, merged_id),
                self._require(object_type, into_id),
            )

    def associate(self, contact_id: str, company_id: str, primary: bool = True) -> None:  # noqa: FBT001, FBT002
        """Associate a contact with a company; ``primary`` moves the contact's primary company.

        A new primary company changes the contact's ``associatedcompanyid`` and so bumps its
        last-modified; a secondary association changes no property (as in HubSpot).
        """
        with self.lock:
            contact = self._require("contacts", contact_id)
            self._link("contacts", contact.id, "companies", int(company_id), primary=primary)
            if primary:
                self._commit("contacts", contact, {"associatedcompanyid": str(company_id)}, None)
            self.tables["contacts"].changed()

    def add_validation_rule(self, object_type: str, record_ids: Iterable[str], message: str) -> None:
        """Updates touching these records are refused as a property validation rule would refuse them.

        HubSpot rejects the whole batch with 400 VALIDATION_ERROR (nothing in it is written), so a
        client must split the batch to land the others.
        """
        with self.lock:
            for ident in record_ids:
                self.validation_rules[(object_type, self._require(object_type, ident).id)] = message

    def clear_validation_rules(self) -> None:
        """Drop every rule :meth:`add_validation_rule` set (the records were fixed)."""
        with self.lock:
            self.validation_rules.clear()

    def expire_token(self) -> None:
        """From now on the token answers 401 EXPIRED_AUTHENTICATION."""
        self._token_expired = True

    def restore_token(self) -> None:
        """The token works again."""
        self._token_expired = False

    def set_daily_remaining(self, n: int) -> None:
        """Pretend other integrations spent the day's budget down to ``n`` requests."""
        with self.lock:
            self.limiter.used_today = max(0, self.limiter.daily - n)

    def get(self, object_type: str, object_id: str) -> dict[str, str | None]:
        """Every property of a record, ``None`` where unset (for assertions)."""
        with self.lock:
            stored = self._require(object_type, object_id).props
            return {name: stored.get(name) for name in self.properties[object_type]}

    def ids(self, object_type: str) -> list[str]:
        """Ids of the live records, in id order."""
        with self.lock:
            return [str(o.id) for o in self.tables[object_type].live()]

    def list_members(self, list_id: str) -> list[str]:
        """Record ids in a list (for assertions)."""
        with self.lock:
            return sorted(self.lists[list_id]["members"])

    # ----------------------------------------------------------------- HTTP: auth, limits, routes

    def handle(self, request: Request) -> Response:
        """Authenticate, count against the budgets, dispatch, and add the rate-limit headers."""
        with self.lock:
            denied = self._authenticate(request)
            if denied is not None:
                return denied
            policy = self.limiter.admit(search=request.path.endswith("/search"), enforce=self.enforce_rate_limits)
            if policy is not None:
                response = self._rate_limited(policy)
            else:
                try:
                    response = self.router.dispatch(request)
                except HttpError as exc:
                    response = exc.response
            response.headers.update(self.limiter.headers())
            return response

    def _authenticate(self, request: Request) -> Response | None:
        headers = {k.lower(): v for k, v in request.headers.items()}
        if headers.get("authorization") != f"Bearer {ACCESS_TOKEN}":
            msg = f"Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at {AUTH_HELP}"  # noqa: E501
            return HttpError(401, "INVALID_AUTHENTICATION", msg).response
        if self._token_expired:
            msg = "The OAuth token used to make this call expired 1 hour(s) ago."
            return HttpError(401, "EXPIRED_AUTHENTICATION", msg).response
        return None

    def _rate_limited(self, policy: str) -> Response:
        message = {"DAILY": "You have reached your daily limit."}.get(policy, "You have reached your secondly limit.")
        body = {
            "status": "error",
            "message": message,
            "errorType": "RATE_LIMIT",
            "correlationId": str(uuid.uuid4()),
            "policyName": policy,
            "groupName": "search" if policy == "SECONDLY" else "publicapi:private-app:sandbox",
        }
        return Response(429, body)

    def _routes(self) -> None:
        add, obj = self.router.add, r"/crm/v3/objects/(?P<type>[^/]+)"
        add("GET", obj, self._list)
        add("POST", obj, self._create_one)
        add("POST", obj + "/search", self._search)
        add("POST", obj + "/merge", self._merge_http)
        add("POST", obj + r"/batch/(?P<op>read|create|update|upsert|archive)", self._batch)
        add("GET", obj + r"/(?P<id>[^/]+)", self._get_one)
        add("PATCH", obj + r"/(?P<id>[^/]+)", self._update_one)
        add("DELETE", obj + r"/(?P<id>[^/]+)", self._delete_one)
        add(
            "POST",
            r"/crm/v4/associations/(?P<src>[^/]+)/(?P<dst>[^/]+)/batch/read",
            self._assoc_read,
        )
        assoc = r"/crm/v4/objects/(?P<src>[^/]+)/(?P<id>[^/]+)/associations/default/"
        assoc += r"(?P<dst>[^/]+)/(?P<to>[^/]+)"
        add("PUT", assoc, self._assoc_put)
        add("GET", r"/crm/v3/properties/(?P<type>[^/]+)", self._properties)
        add("POST", r"/crm/v3/properties/(?P<type>[^/]+)", self._create_property)
        add("GET", r"/crm/v3/properties/(?P<type>[^/]+)/(?P<name>[^/]+)", self._property)
        add("PUT", r"/crm/v3/lists/(?P<id>[^/]+)/memberships/add", self._list_add)
        add("PUT", r"/crm/v3/lists/(?P<id>[^/]+)/memberships/remove", self._list_remove)
        add("GET", r"/crm/v3/lists/(?P<id>[^/]+)/memberships", self._list_members)
        add("GET", r"/account-info/v3/api-usage/daily/private-apps", self._usage)
