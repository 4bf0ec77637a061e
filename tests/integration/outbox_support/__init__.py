"""Helpers of the outbox acceptance tests: real connectors to the sandboxes, from the test process or a child."""
