"""PgBouncer: poolers from ini files and containers' environment, their worst case, and what
each release does (data/, with the source line of each behaviour)."""
