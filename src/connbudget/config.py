"""Settings from the config file and the command line (flags win).

The file is `[tool.connbudget]` in `pyproject.toml`, or the top level of `.connbudget.toml`,
found walking up from the first scanned path to the top of its tree (its repository), then
likewise from the working directory; `--config` names one explicitly, `--no-config` reads
none. A config found in the tree is read only as a regular file inside it: a pull request can
commit a symlink in its place. Unknown keys, unknown rule ids and wrong types are errors.
"""

from __future__ import annotations

import os
import re
import stat
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from connbudget import confine
from connbudget.catalogue import RULES, SEVERITIES
from connbudget.errors import UsageError
from connbudget.settings import DatabaseOverride, PoolerOverride, Settings, canonical

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

Table = dict[str, Any]


class _Bad(Exception):
    """A config value is wrong; the message names the key."""


def _table(value: object, key: str) -> Table:
    if not isinstance(value, dict):
        raise _Bad(f"'{key}' must be a table")
    return value


def _int(value: object, key: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise _Bad(f"'{key}' must be an integer >= {minimum}, not {value!r}")
    return value


def _fraction(value: object, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
        raise _Bad(f"'{key}' must be a number between 0 and 1 (0.8 means 80 %), not {value!r}")
    return float(value)


def _strings(value: object, key: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _Bad(f"'{key}' must be a list of strings")
    return list(value)


def _string(value: object, key: str) -> str:
    if not isinstance(value, str):
        raise _Bad(f"'{key}' must be a string")
    return value


def _fail_on(value: object, settings: Settings, base: Path) -> None:
    if value not in SEVERITIES:
        raise _Bad(f"'fail-on' must be one of {', '.join(SEVERITIES)}, not {value!r}")
    settings.fail_on = str(value)


def _disable(value: object, settings: Settings, base: Path) -> None:
    rule_ids = _strings(value, "disable")
    unknown = [r for r in rule_ids if r not in RULES]
    if unknown:
        raise _Bad(f"'disable' names unknown rule {', '.join(unknown)} "
                   "(`connbudget rules` lists them)")
    settings.disabled_rules.update(rule_ids)


def _databases(value: object, settings: Settings, base: Path) -> None:
    for address, pinned in _table(value, "databases").items():
        where = f"databases.\"{address}\""
        pinned = _table(pinned, where)
        _no_unknown(pinned, {"max-connections", "reserved"}, f"{where}.")
        override = DatabaseOverride()
        if "max-connections" in pinned:
            override.max_connections = _int(pinned["max-connections"],
                                            f"{where}.max-connections", 1)
        if "reserved" in pinned:
            override.reserved = _int(pinned["reserved"], f"{where}.reserved", 0)
        settings.databases[address] = override


def _poolers(value: object, settings: Settings, base: Path) -> None:
    for address, pinned in _table(value, "poolers").items():
        where = f"poolers.\"{address}\""
        pinned = _table(pinned, where)
        _no_unknown(pinned, {"processes", "pgbouncer-version", "users", "databases"},
                    f"{where}.")
        override = PoolerOverride()
        if "processes" in pinned:
            override.processes = _int(pinned["processes"], f"{where}.processes", 1)
        if "pgbouncer-version" in pinned:
            override.version = _string(pinned["pgbouncer-version"],
                                       f"{where}.pgbouncer-version")
        if "users" in pinned:
            override.users = _strings(pinned["users"], f"{where}.users")
        if "databases" in pinned:
            override.databases = _strings(pinned["databases"], f"{where}.databases")
        settings.poolers[canonical(address, str(base))] = override


def _clients(value: object, settings: Settings, base: Path) -> None:
    for client, database in _table(value, "clients").items():
        target = _string(database, f"clients.\"{client}\"")
        settings.clients[canonical(client, str(base))] = canonical(target, str(base))


def _apps(value: object, settings: Settings, base: Path) -> None:
    """An application directory, relative to the config file, and the units that run it."""
    for directory, units in _table(value, "apps").items():
        where = f"apps.\"{directory}\""
        if isinstance(units, str):
            units = [units]
        names = _strings(units, where)
        if not names:
            raise _Bad(f"'{where}' names no deploying unit")
        path = (base / directory).resolve()
        if not path.is_dir():
            raise _Bad(f"'{where}': no such directory")
        settings.apps[str(path)] = names


def _pool_defaults(value: object, settings: Settings, base: Path) -> None:
    for name, size in _table(value, "pool-defaults").items():
        settings.default_pool_sizes[name] = _int(size, f"pool-defaults.{name}", 1)


def _threshold(value: object, settings: Settings, base: Path) -> None:
    settings.threshold = _fraction(value, "threshold")


def _safety_factor(value: object, settings: Settings, base: Path) -> None:
    settings.instance_class_safety_factor = _fraction(value, "instance-class-safety-factor")


def _exclude(value: object, settings: Settings, base: Path) -> None:
    settings.exclude.extend(_strings(value, "exclude"))


def _var_files(value: object, settings: Settings, base: Path) -> None:
    settings.config_var_files.extend(str(base / v) for v in _strings(value, "var-files"))


_KEYS: dict[str, Callable[[object, Settings, Path], None]] = {
    "threshold": _threshold,
    "fail-on": _fail_on,
    "disable": _disable,
    "exclude": _exclude,
    "databases": _databases,
    "clients": _clients,
    "apps": _apps,
    "poolers": _poolers,
    "pool-defaults": _pool_defaults,
    "instance-class-safety-factor": _safety_factor,
    "var-files": _var_files,
}


def _no_unknown(table: Table, known: set[str] | dict[str, Any], prefix: str = "") -> None:
    unknown = sorted(set(table) - set(known))
    if unknown:
        raise _Bad(f"unknown key '{prefix}{unknown[0]}' (known: {', '.join(sorted(known))})")


_MAX_BYTES = 1024 * 1024
_POSITION = re.compile(r"\(at (line \d+, column \d+|end of document)\)")


def _read_toml(path: Path, follow: bool) -> Table:
    """The file's TOML; only a regular file is read (never a FIFO), a symlink only when
    `follow` (a file the user named), and no error shows text of the file."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        descriptor = os.open(path, flags | (0 if follow else getattr(os, "O_NOFOLLOW", 0)))
    except OSError as exc:
        raise UsageError(f"{path}: cannot read config file ({exc.strerror})") from None
    with os.fdopen(descriptor, "rb") as handle:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise UsageError(f"{path}: not a regular file, not read as a config file")
        data = handle.read(_MAX_BYTES + 1)
    if len(data) > _MAX_BYTES:
        raise UsageError(f"{path}: larger than 1 MiB, not read as a config file")
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not valid UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        # the parser's message may quote a character of the file: only the position is shown
        where = _POSITION.search(str(exc))
        raise UsageError(f"{path}: not valid TOML" + (f" ({where.group(1)})" if where else "")
                         ) from None


def _section(path: Path, follow: bool = True) -> Table | None:
    """The connbudget table of a config file; None for a pyproject.toml without one."""
    data = _read_toml(path, follow)
    if path.name != "pyproject.toml":
        return data
    section = data.get("tool", {}).get("connbudget")
    if section is not None and not isinstance(section, dict):
        raise UsageError(f"{path}: [tool.connbudget] must be a table")
    return section


def _upwards(directory: str, top: str) -> Iterator[str]:
    """`directory`, then each parent up to `top` (lexical paths, `top` above `directory`)."""
    while True:
        yield directory
        if directory == top or os.path.dirname(directory) == directory:
            return
        directory = os.path.dirname(directory)


def _find_upwards(start: str) -> tuple[Path, Table] | None:
    directory, top = confine.tree(start)
    roots = confine.Roots([start])
    for candidate in _upwards(directory, top):
        for name in (".connbudget.toml", "pyproject.toml"):
            path = os.path.join(candidate, name)
            if not os.path.lexists(path):
                continue
            problem = "a symlink" if os.path.islink(path) else roots.outside(path)
            if problem is not None:
                raise UsageError(f"{path}: {problem}; a config file in the scanned tree is "
                                 "read only as a regular file inside it (--config FILE names "
                                 "another, --no-config reads none)")
            section = _section(Path(path), follow=False)
            if section is not None:
                return Path(path), section
    return None


def find_config(paths: list[str]) -> tuple[Path, Table] | None:
    """The config above the first path (inside its tree), else above the working directory."""
    for start in [*paths[:1], os.getcwd()]:
        found = _find_upwards(start)
        if found:
            return found
    return None


def apply_config(settings: Settings, path: Path, table: Table, anchor: Path | None = None,
                 ) -> None:
    """Apply `table`, read from `path`; relative paths in it (var-files, anchored excludes)
    start at `anchor`, by default the file's directory."""
    anchor = anchor or path.parent
    try:
        _no_unknown(table, _KEYS)
        for key, value in table.items():
            _KEYS[key](value, settings, anchor)
    except _Bad as exc:
        section = "[tool.connbudget] " if path.name == "pyproject.toml" else ""
        raise UsageError(f"{path}: {section}{exc}") from None
    settings.config_file = str(path)
    settings.config_root = str(anchor)
    settings.config_table = dict(table)


def _explicit(settings: Settings, config: str, paths: list[str]) -> None:
    """`--config FILE`: any regular file the user names. One outside the scanned tree (the
    base branch's config, saved by a CI job) reads its relative paths from the top of the
    tree of the first path, as the same file at the top of the repository would."""
    path = Path(config)
    section = _section(path)
    if section is None:
        raise UsageError(f"{path}: no [tool.connbudget] table")
    first = (paths or ["."])[0]
    inside = confine.Roots([first]).outside(config) is None
    apply_config(settings, path, section, None if inside else Path(confine.tree(first)[1]))


def load_settings(paths: list[str], config: str | None = None, fail_on: str | None = None,
                  threshold: float | None = None, var_files: list[str] | None = None,
                  cache: bool = True, use_config: bool = True) -> Settings:
    """The config file (`config`, or the one found above `paths`; none without
    `use_config`), then the flags over it."""
    settings = Settings()
    if config:
        _explicit(settings, config, paths)
    elif use_config:
        found = find_config(paths)
        if found:
            apply_config(settings, *found)
    if fail_on:
        settings.fail_on = fail_on
    if threshold is not None:
        settings.threshold = threshold
    settings.var_files.extend(var_files or [])
    if not cache:
        settings.cache = False
    return settings

