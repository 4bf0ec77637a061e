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

from typing import TYPE_CHECKING, Any

from requests.adapters import HTTPAdapter

from connectors.http import PinnedSession, parse_retry_after

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


class SalesforceHttpSession(PinnedSession):
    """A session with a default timeout, a CA bundle that beats the environment, and a counter."""

    def __init__(self, *, timeout: float = 30.0, ca_bundle: Path | None = None) -> None:
        """Mount the timeout adapter on both schemes; pin ``verify`` to ``ca_bundle`` if given."""
        super().__init__(ca_bundle)
        self.timeout = timeout
        for prefix in ("https://", "http://"):
            self.mount(prefix, TimeoutAdapter(timeout))
        self.calls = 0
        self.limit_info: str | None = None
        self.last_status: int | None = None
        self.last_retry_after: float | None = None

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
