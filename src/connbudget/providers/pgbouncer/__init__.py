"""PgBouncer releases 1.18 to 1.25: what each release decides about server connections, and
which release an image tag runs."""
