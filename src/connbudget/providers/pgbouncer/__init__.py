"""PgBouncer: poolers from ini files and containers' environment, and their worst case."""
