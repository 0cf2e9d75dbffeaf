"""Provider-neutral capacity computations: matching clients to databases, the PgBouncer-free
budget of each database, fixes and their edits."""
