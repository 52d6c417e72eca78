"""One-off builders that turn the read-only reference inputs into the project's own data files."""
