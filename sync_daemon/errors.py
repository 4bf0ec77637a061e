"""Errors the CLI turns into exit codes, in a module with no heavy imports so ``sync-daemon --help`` stays quick."""

from __future__ import annotations

__all__ = ["SchemaTooNewError"]


class SchemaTooNewError(RuntimeError):
    """The database was migrated by a newer version of the daemon than this one (a rollback of the image)."""

    def __init__(self, current: str, head: str | None) -> None:
        super().__init__(
            f"the store's schema is at revision {current}, newer than this version knows (its newest is {head}): "
            f"run the newer version again, or downgrade the schema with that newer version first "
            f"(alembic downgrade {head}; see the README, 'Upgrading')"
        )
        self.current, self.head = current, head
