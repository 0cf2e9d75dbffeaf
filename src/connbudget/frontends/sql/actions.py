"""What a role statement says, as plain data: the front end's output before any state is applied."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

ALL_ROLES = "ALL"
ROLE_WORDS = re.compile(r"\b(?:role|user|group)\b", re.IGNORECASE)
# Words without which a body (DO, function, procedure) holds no role statement: EXECUTE may
# run a DO block or routine built at run time.
BODY_WORDS = re.compile(r"\b(?:role|user|group|grant|revoke|execute)\b", re.IGNORECASE)


@dataclass
class Said:
    """What one statement says about one role (None: not said)."""

    login: bool | None = None
    superuser: bool | None = None
    connection_limit: int | None = None
    password: str | None = None
    settings: dict[str, str | None] = field(default_factory=dict)
    reset_all: bool = False
    # attributes set to a value only known at deploy time (a placeholder)
    unknown: set[str] = field(default_factory=set)


@dataclass
class Action:
    op: str  # create | alter | rename | drop | grant
    role: str  # the affected role; for rename, the old name
    statement: dict[str, Any]
    said: Said = field(default_factory=Said)
    new_name: str | None = None
    create_login: bool = False  # CREATE USER logs in by default; CREATE ROLE/GROUP do not
    # the role name as the file writes it when a placeholder gives it (psql's :"v", ${x})
    sql_name: str | None = None
