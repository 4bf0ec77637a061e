"""The one ``requests.Session`` the Salesforce connector talks through.

simple-salesforce has no timeouts and no call accounting, so both live here, at the transport seam:

* every request gets a default timeout (an :class:`~requests.adapters.HTTPAdapter` that fills it
  in when the caller gave none): a hung socket must become a retriable error, not a hung daemon;
* an explicit CA bundle wins over ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE``: requests'
  ``merge_environment_settings`` otherwise replaces ``Session.verify`` with the environment's
  bundle (CRM_NOTES), which would silently stop trusting a TLS-inspecting proxy or a local test
  server; proxies from the environment still apply;
* every request is counted (retries and logins included), and the latest ``Sforce-Limit-Info``
  and ``Retry-After`` are kept, from error responses too: simple-salesforce only reads the limit
  header on success and drops response headers from its exceptions.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

import requests
from requests.adapters import HTTPAdapter

if TYPE_CHECKING:
    from pathlib import Path

    from requests import PreparedRequest, Response


class TimeoutAdapter(HTTPAdapter):
    """An adapter that applies ``timeout`` to every request sent without one."""

    def __init__(self, timeout: float, **kwargs: Any) -> None:
        """Keep the default timeout; the rest goes to :class:`HTTPAdapter`."""
        super().__init__(**kwargs)
        self.default_timeout = timeout

    def send(self, request: PreparedRequest, *args: Any, **kwargs: Any) -> Response:
        """Send with the default timeout unless the caller chose one."""
        if kwargs.get("timeout") is None and len(args) < 2:  # noqa: PLR2004 - (stream, timeout, ...)
            kwargs["timeout"] = self.default_timeout
        return super().send(request, *args, **kwargs)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date), else ``None``."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - (now or datetime.now(UTC))).total_seconds(), 0.0)


class SalesforceHttpSession(requests.Session):
    """A session with a default timeout, a CA bundle that beats the environment, and a counter."""

    def __init__(self, *, timeout: float = 30.0, ca_bundle: Path | None = None) -> None:
        """Mount the timeout adapter on both schemes; pin ``verify`` to ``ca_bundle`` if given."""
        super().__init__()
        self.timeout = timeout
        self.ca_bundle = ca_bundle
        if ca_bundle is not None:
            self.verify = str(ca_bundle)
        for prefix in ("https://", "http://"):
            self.mount(prefix, TimeoutAdapter(timeout))
        self.calls = 0
        self.limit_info: str | None = None
        self.last_status: int | None = None
        self.last_retry_after: float | None = None

    def merge_environment_settings(
        self,
        url: str | bytes | None,
        proxies: Any,
        stream: bool | None,  # noqa: FBT001 - requests' own signature
        verify: Any,
        cert: Any,
    ) -> Any:
        """Let the environment add proxies, but never replace an explicit CA bundle."""
        settings = super().merge_environment_settings(url, proxies, stream, verify, cert)
        if self.ca_bundle is not None and (verify is None or verify is True):
            settings["verify"] = str(self.ca_bundle)
        return settings

    def send(self, request: PreparedRequest, **kwargs: Any) -> Response:
        """Count the call, then remember the limit and back-off headers of whatever came back."""
        self.calls += 1
        self.last_status = None
        self.last_retry_after = None
        response = super().send(request, **kwargs)
        self.last_status = response.status_code
        self.last_retry_after = parse_retry_after(response.headers.get("Retry-After"))
        limit_info = response.headers.get("Sforce-Limit-Info")
        if limit_info:
            self.limit_info = limit_info
        return response
