"""Tests of the assessment policy, sends and sentiment rollups."""
