"""``python -m sync_daemon`` is the same as ``sync-daemon``."""

from sync_daemon.cli import main

main()
