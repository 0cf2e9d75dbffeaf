"""A cache of parsed files keyed by content hash, so a warm run skips the slow parsers."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any


def cache_dir() -> Path:
    configured = os.environ.get("CONNBUDGET_CACHE_DIR")
    if configured:
        return Path(configured)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("connbudget"))


def _entry(kind: str, version: str, content: bytes) -> str:
    # Plain strings, not Path objects: a warm run builds one path per input file.
    digest = hashlib.sha256(version.encode() + b"\0" + content).hexdigest()
    return os.path.join(cache_dir(), kind, digest[:2], f"{digest}.json")


def _read(path: str) -> Any:
    try:
        with open(path, "rb") as handle:
            return json.loads(handle.read())["value"]
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        return None


def _dump(path: str, value: Any) -> None:
    text = json.dumps({"value": value}, separators=(",", ":"))  # json.dump is pure Python
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)


def _write(path: str, value: Any) -> None:
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        try:
            _dump(tmp, value)
        except FileNotFoundError:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            _dump(tmp, value)
        os.replace(tmp, path)  # readers never see a half-written entry
    except (OSError, ValueError, TypeError, RecursionError):
        # a read-only or full cache directory only costs speed
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def cached(kind: str, version: str, content: bytes, compute: Callable[[], Any],
           valid: Callable[[Any], bool], enabled: bool = True) -> Any:
    """`compute()` (a JSON-able value), read from or stored in the cache.

    An entry that cannot be read or that `valid` rejects is recomputed and overwritten.
    """
    if not enabled:
        return compute()
    path = _entry(kind, version, content)
    value = _read(path)
    if value is None or not valid(value):
        value = compute()
        _write(path, value)
    return value
