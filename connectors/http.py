"""HTTP pieces every connector shares: a session whose CA bundle the environment cannot replace, Retry-After.

requests' ``merge_environment_settings`` lets ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` replace ``Session.verify``
(CRM_NOTES), which would silently stop trusting the private CA an admin configured (a TLS-inspecting proxy, a
survey tool inside the company, a local test server). :class:`PinnedSession` keeps the configured bundle and
still takes proxies from the environment.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

import requests

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["PinnedSession", "parse_retry_after"]


class PinnedSession(requests.Session):
    """A session whose explicit CA bundle wins over the environment's; proxies still come from the environment."""

    def __init__(self, ca_bundle: str | Path | None = None) -> None:
        """Pin ``verify`` to ``ca_bundle`` when one is given (else the usual defaults apply)."""
        super().__init__()
        self.ca_bundle = ca_bundle
        if ca_bundle is not None:
            self.verify = str(ca_bundle)

    def merge_environment_settings(
        self,
        url: str | bytes | None,
        proxies: Any,
        stream: bool | None,  # noqa: FBT001 - requests' own signature
        verify: Any,
        cert: Any,
    ) -> Any:
        """Let the environment add proxies, but never replace the configured CA bundle."""
        settings = super().merge_environment_settings(url, proxies, stream, verify, cert)
        if self.ca_bundle is not None and (verify is None or verify is True):
            settings["verify"] = str(self.ca_bundle)
        return settings


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
