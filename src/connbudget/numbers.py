"""Reading a whole number the way every format writes one: the one place it is decided."""

from __future__ import annotations


def count(raw: object) -> int | None:
    """A whole number as the files write one: an integer, or text that is only digits (a sign
    allowed); anything else (`10.5`, `"ten"`, `true`) is not a count. The one place such a
    number is read, whatever the format."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw if abs(raw) < 2**63 else None  # no setting holds more
    if isinstance(raw, float):
        return int(raw) if raw.is_integer() and abs(raw) < 2**63 else None
    if isinstance(raw, str):
        text = raw.strip()
        digits = text[1:] if text[:1] in "+-" else text
        if digits.isascii() and digits.isdigit() and len(digits) <= 18:
            return int(text)
    return None
