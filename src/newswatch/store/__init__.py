"""State stores behind one Protocol: Redis (shared by many workers) and SQLite (embedded default)."""
