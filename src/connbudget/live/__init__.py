"""`connbudget live`: a running PostgreSQL (and PgBouncer) read read-only, and compared with the
budget the repository declares.

  connect.py     the DSN, the one bounded connection, errors that cannot hold a password
  postgres.py    the server's facts from its catalog views
  pgbouncer.py   a PgBouncer's facts from its admin console
  facts.py       the facts, as frozen data
  repository.py  what the files declare (the only module that knows the static analysis)
  triage.py      who holds the slots, and the statements that would free them
  command.py     the command: read, compare (connbudget.rules.live: CB114-CB119), report

psycopg is imported by connect.py only, and only when the command runs.
"""
