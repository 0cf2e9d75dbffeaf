"""The SQL front end: role statements in migrations as JSON documents with their role state."""

from __future__ import annotations

from connbudget.frontends.sql.reader import SqlResult, read_sql

__all__ = ["SqlResult", "read_sql"]
