"""PgBouncer configuration: pgbouncer.ini (with %include) or a container's environment."""
