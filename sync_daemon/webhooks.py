"""The webhook senders of the assessment channels, built once per process from the policy and the environment.

The outbox stores a webhook send's channel (URL, timeout, the *name* of the secret's environment variable), never
the secret; the drain asks :class:`ChannelSenders` for the sender of that channel, which reads the secret from the
environment it was given (once), registers it for log redaction, and keeps one HTTP session per channel.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from connectors.base import AuthError
from connectors.webhook import WebhookSender
from sync_daemon.config.assessment_models import WebhookChannel
from sync_daemon.logs import register_secret

if TYPE_CHECKING:
    from collections.abc import Mapping

    from connectors.retry import RetryPolicy

__all__ = ["ChannelSenders", "missing_secrets", "resolve_secret"]


@dataclass
class ChannelSenders:
    """One :class:`WebhookSender` per (URL, secret variable), made on first use."""

    environ: Mapping[str, str]
    retry: RetryPolicy
    ca_bundle: str | None = None
    _senders: dict[tuple[str, str], WebhookSender] = field(default_factory=dict)

    def sender(self, channel: Mapping[str, object]) -> WebhookSender:
        """The sender of a stored channel (``AuthError`` when its secret is no longer in the environment)."""
        spec = WebhookChannel.model_validate(dict(channel))
        key = (spec.url, spec.secret_env)
        if key not in self._senders:
            found = resolve_secret(self.environ, spec.secret_env)
            if found is None:  # removed since start-up: the intent waits (not dead) until the secret is back
                raise AuthError(f"the webhook channel's secret {spec.secret_env} is not set")
            secret = {spec.secret_env: found}
            self._senders[key] = WebhookSender.from_channel(
                spec, environ=secret, retry=self.retry, ca_bundle=self.ca_bundle, on_secret=register_secret
            )
        return self._senders[key]

    def close(self) -> None:
        """Close every sender's session."""
        for sender in self._senders.values():
            sender.close()
        self._senders.clear()


def resolve_secret(environ: Mapping[str, str], name: str) -> str | None:
    """The secret in ``name``, or in the file ``name_FILE`` names (a mounted container secret); None when unset."""
    value = environ.get(name, "").strip()
    if value:
        return value
    path = environ.get(f"{name}_FILE", "").strip()
    if path:
        try:
            return Path(path).read_text(encoding="utf-8").strip() or None
        except OSError:
            return None
    return None


def missing_secrets(channels: list[WebhookChannel], environ: Mapping[str, str]) -> list[str]:
    """The secret variables the policy's webhook channels name that neither the environment nor a file sets."""
    return sorted({c.secret_env for c in channels if resolve_secret(environ, c.secret_env) is None})
