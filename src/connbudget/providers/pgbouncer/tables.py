"""Release-aware PgBouncer semantics, each read from the source of the release that decides it.

`data/behaviours.csv` holds one row per release series (1.18 ... 1.25) and behaviour, citing the
line of the series' newest patch release (every patch release of the series was read and
agrees). Which keys a release accepts at all is `connbudget/data/pgbouncer_keys.json`.
"""

from __future__ import annotations

import re

from connbudget.providers.tables import Sourced, find, rows

_PACKAGE = __name__.rpartition(".")[0]
_BEHAVIOURS = "behaviours.csv"
_RELEASES = "releases.csv"
_IMAGES = "images.csv"
_VERSION = re.compile(r"(\d+)\.(\d+)(?:\.(\d+))?")
_REGISTRY = re.compile(r"^(?:docker\.io/|index\.docker\.io/|registry-1\.docker\.io/)")

# Behaviours and their values, as the table writes them.
POOL_SIZE_ZERO = "pool_size_zero"  # "at_most_one" (<= 1.23) or "no_limit" (>= 1.24)
# "only_with_clients" (<= 1.20) or "kept_without_clients" (>= 1.21)
MIN_POOL_SIZE_FORCED_USER = "min_pool_size_forced_user"
ABSENT = "absent"  # the release has no such setting
ACCEPTED = "accepted"


def releases() -> list[str]:
    """Every release whose source the tables read, oldest first."""
    return [row["version"] for row in rows(_PACKAGE, _RELEASES)]


def newest_release() -> Sourced[str]:
    last = rows(_PACKAGE, _RELEASES)[-1]
    return last.sourced(last["version"])


def _series(release: str) -> str | None:
    found = _VERSION.fullmatch(release.strip().lstrip("v"))
    if found is None:
        return None
    series = f"{found.group(1)}.{found.group(2)}"
    if found.group(3) is None:
        known = any(version.startswith(series + ".") for version in releases())
    else:
        known = release.strip().lstrip("v") in releases()
    return series if known else None


def behaviour(name: str, release: str) -> Sourced[str] | None:
    """What `release` ("1.23.1", or a series "1.24") does for a behaviour (or the default of a
    `[pgbouncer]` key); None for a release or behaviour the tables do not know."""
    series = _series(release)
    if series is None:
        return None
    for row in find(_PACKAGE, _BEHAVIOURS, series=series, behaviour=name):
        return row.sourced(row["value"])
    return None


def _pattern(tag: str) -> re.Pattern[str]:
    parts = re.split(r"(\{release\}|\{n\})", tag)
    regex = "".join({"{release}": r"(?P<release>\d+\.\d+\.\d+)", "{n}": r"\d+"}.get(part)
                    or re.escape(part) for part in parts)
    return re.compile(regex)


def image_release(image: str) -> Sourced[str] | None:
    """The PgBouncer release an image reference runs (`edoburu/pgbouncer:v1.24.1-p1`,
    `bitnami/pgbouncer:1.23.1`); None for rolling tags, digests, unknown images or releases."""
    reference = _REGISTRY.sub("", image.strip())
    name, _, tag = reference.rpartition(":")
    if not name or "/" in tag or "@" in reference:
        return None
    for row in find(_PACKAGE, _IMAGES, image=name):
        if row["tag"] == tag and row["release"] in releases():
            return row.sourced(row["release"])
    for row in find(_PACKAGE, _IMAGES, image=name):
        found = _pattern(row["tag"]).fullmatch(tag) if "{" in row["tag"] else None
        if found and found.group("release") in releases():
            return row.sourced(found.group("release"))
    return None
