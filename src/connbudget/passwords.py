"""What PostgreSQL takes as an already hashed password; any other string it hashes itself;
and which names say that what they hold is a secret."""

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


# What connbudget keeps of a secret is its kind, never its text: a stand-in of the same kind.
_STAND_INS = {"scram-sha-256": "SCRAM-SHA-256$4096:AAAA$AAAA:AAAA", "md5": "md5" + "0" * 32,
              None: "<redacted>"}


def stand_in(secret: str) -> str:
    """A string of the same kind as `secret` (plaintext, or the hash PostgreSQL stores as
    is) that holds nothing of it; "" stays "" (no password is no secret)."""
    return _STAND_INS[hash_kind(secret)] if secret else secret


# A name says it holds a secret when one of its words contains one of the long words
# (`dbpassword`, `SECRET_ARN`, `api_token`) or is one of the short ones (`db_pass`, `api_key`,
# `adminPwd`), in any case; `bypass`, `keycloak` or `passenger` do not, and neither does `key`
# alone (`each.key`, a tag's `key`, a map's key).
_SECRET_PARTS = re.compile(r"passw(?:or)?d|secret|token|credential|apikey|passphrase")
_SECRET_WORDS = frozenset(("pass", "pwd", "key", "keys", "creds"))
_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")
# Every name `names_a_secret` takes holds one of these in any case: a text without one (lower
# cased) holds no such name, which spares a search through it.
SECRET_HINTS = ("pass", "pwd", "key", "cred", "secret", "token")
_NAMES: dict[str, bool] = {}


def names_a_secret(name: str) -> bool:
    """Whether `name` (an attribute, variable or map key) says that its value is a secret."""
    known = _NAMES.get(name)
    if known is None:
        words = [word.lower() for word in _WORD.findall(name)]
        known = words not in (["key"], ["keys"]) and any(
            word in _SECRET_WORDS or _SECRET_PARTS.search(word) for word in words)
        if len(_NAMES) < 65536:  # names repeat across files; a hostile file cannot grow this
            _NAMES[name] = known
    return known
