"""The image's HEALTHCHECK: ``GET /healthz`` on the daemon's health port, with the standard library only.

The slim base has no curl, and the daemon's own interpreter is there anyway. ``http.client`` rather than
``urllib``: urllib would send a loopback request through ``HTTP_PROXY`` when a deployment sets one. Exit 0 when the
daemon answers 2xx, 1 otherwise (Docker then counts a failed check). ``/healthz`` only says the process lives;
whether it is ready to work (store, credentials, a recent cycle) is ``/readyz``, for an orchestrator's readiness
probe: a standby replica or an expired token must not get the container restarted.
"""

# ruff: noqa: INP001 - a script copied into the image on its own, not part of a package

from __future__ import annotations

import http.client
import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

DEFAULT_PORT = 8080
TIMEOUT_SECONDS = 4.0  # under the HEALTHCHECK's --timeout, so the script reports instead of being killed
_ANY_ADDRESS = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}  # noqa: S104 - bind-all means "ask loopback"


def target(environ: Mapping[str, str]) -> tuple[str, int] | None:
    """The host and port the health server listens on, from the daemon's settings; None when it is off."""
    port = int(environ.get("SYNC_HEALTH_PORT") or DEFAULT_PORT)
    if port == 0:
        return None
    host = environ.get("SYNC_HEALTH_HOST", "")
    return _ANY_ADDRESS.get(host, host), port


def check(host: str, port: int) -> tuple[bool, str]:
    """Ask ``/healthz`` once: whether it answered 2xx, and a line saying what happened."""
    connection = http.client.HTTPConnection(host, port, timeout=TIMEOUT_SECONDS)
    try:
        connection.request("GET", "/healthz")
        status = connection.getresponse().status
    except (OSError, http.client.HTTPException) as exc:
        return False, f"unhealthy: {host}:{port}/healthz: {type(exc).__name__}: {exc}"
    finally:
        connection.close()
    healthy = 200 <= status < 300  # noqa: PLR2004 - the 2xx range
    return healthy, f"{'healthy' if healthy else 'unhealthy'}: {host}:{port}/healthz answered {status}"


def main(environ: Mapping[str, str] | None = None) -> int:
    """Run one check; the exit code is Docker's health verdict."""
    where = target(os.environ if environ is None else environ)
    if where is None:
        print("health server off (SYNC_HEALTH_PORT=0): nothing to check")  # noqa: T201 - Docker keeps this line
        return 0
    healthy, line = check(*where)
    print(line, file=sys.stderr if not healthy else sys.stdout)
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
