"""Tests of the sync daemon (a package so helpers like ``tests.fakes`` import by name)."""
