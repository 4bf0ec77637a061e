"""Loading and validating the admin-edited YAML files (mappings, later the policy files)."""
