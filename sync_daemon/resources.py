"""Where the shipped mapping files and example config live, installed or in a checkout.

A wheel carries them under ``sync_daemon/_shipped/``; an editable install or a checkout has them at the
repository root. The demo and the defaults use whichever exists, so both README commands work.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def shipped(relative: str) -> Path:
    """Path of a shipped file such as ``mappings/salesforce.yaml``."""
    bundled = _PACKAGE / "_shipped" / relative
    if bundled.exists():
        return bundled
    return _PACKAGE.parent / relative


def resolve(path: Path, fallback: str) -> Path:
    """``path`` when it exists, else the shipped ``fallback`` (only for the unchanged default path)."""
    if path.exists() or path.is_absolute() or path.as_posix() != fallback:
        return path
    return shipped(fallback)
