"""What PostgreSQL takes as an already hashed password; any other string it hashes itself."""

from __future__ import annotations

import re

# PostgreSQL stores a string as given only when it parses as a SCRAM secret or an md5 hash
# (src/backend/libpq/crypt.c get_password_type); "SCRAM-SHA-256$x" is a plaintext password.
_SCRAM = re.compile(r"SCRAM-SHA-256\$\d+:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+")
_MD5 = re.compile(r"md5[0-9a-f]{32}")


def hash_kind(value: str) -> str | None:
    """"scram-sha-256" or "md5" for a hash PostgreSQL stores as is, None for plaintext."""
    if _SCRAM.fullmatch(value):
        return "scram-sha-256"
    if _MD5.fullmatch(value):
        return "md5"
    return None
