"""postgresql.conf: the settings a self-managed PostgreSQL server reads at start."""
