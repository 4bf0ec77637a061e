"""Pure domain logic: no I/O and no clock reads (``now`` is passed in)."""
