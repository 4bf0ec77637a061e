"""The sync daemon: settings, config loading, pure domain logic, state store, engine, CLI."""
