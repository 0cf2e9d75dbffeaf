"""Reading the providers' data tables: CSV files whose every row names its source and the date
it was read (`source`, `verified_at`), so a number shown to a user can be traced.

A row whose value is empty records that the vendor documents nothing there: its lookup gives
None (unknown), never a default of connbudget's own.
"""

from __future__ import annotations

import csv
import datetime
import functools
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from typing import Generic, TypeVar

T = TypeVar("T")

SOURCE = "source"
VERIFIED_AT = "verified_at"


class TableError(ValueError):
    """A shipped table is malformed: a packaging bug, caught by the tests."""


@dataclass(frozen=True)
class Citation:
    source: str  # a vendor page URL, or owner/repo@commit:path:line
    verified_at: datetime.date
    table: str  # provider/data/file.csv
    line: int  # line in the table (the header is line 1)

    def __str__(self) -> str:
        return f"{self.source} (read {self.verified_at.isoformat()}; {self.table}:{self.line})"


@dataclass(frozen=True)
class Sourced(Generic[T]):
    value: T
    cite: Citation
    note: str = ""


@dataclass(frozen=True)
class Row:
    fields: dict[str, str]
    cite: Citation

    def __getitem__(self, column: str) -> str:
        return self.fields[column]

    def sourced(self, value: T) -> Sourced[T]:
        return Sourced(value, self.cite, self.fields.get("note", ""))


def _date(text: str, where: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(text)
    except ValueError as error:
        raise TableError(f"{where}: verified_at {text!r} is not a date") from error


@functools.cache
def rows(package: str, name: str) -> tuple[Row, ...]:
    """Every row of `<package>/data/<name>`, each with its citation; checks both columns."""
    provider = package.rsplit(".", 1)[-1]
    table = f"{provider}/data/{name}"
    text = resources.files(package).joinpath("data").joinpath(name).read_text(encoding="utf-8")
    reader = csv.DictReader(text.splitlines())
    if not reader.fieldnames or {SOURCE, VERIFIED_AT} - set(reader.fieldnames):
        raise TableError(f"{table}: no {SOURCE} and {VERIFIED_AT} columns")
    found: list[Row] = []
    for index, fields in enumerate(reader):
        line = index + 2
        if None in fields or not fields[SOURCE].strip():
            raise TableError(f"{table}:{line}: a source and the expected columns are required")
        verified = _date(fields[VERIFIED_AT], f"{table}:{line}")
        found.append(Row(dict(fields), Citation(fields[SOURCE], verified, table, line)))
    return tuple(found)


def find(package: str, name: str, **match: str) -> Iterator[Row]:
    """The rows whose columns equal every given value."""
    return iter(_found(package, name, tuple(sorted(match.items()))))


@functools.cache
def _found(package: str, name: str, match: tuple[tuple[str, str], ...]) -> tuple[Row, ...]:
    """The rows of one lookup, kept: a run asks the same few questions thousands of times."""
    return tuple(row for row in rows(package, name)
                 if all(row[column] == value for column, value in match))


FACTS = "facts.csv"


def fact(package: str, key: str, table: str = FACTS) -> Row:
    """The row of a key/value table with this key; a missing key is a packaging bug."""
    for row in find(package, table, key=key):
        return row
    raise TableError(f"{package}: no fact {key!r} in {table}")


def int_fact(package: str, key: str, table: str = FACTS) -> Sourced[int] | None:
    """An integer fact; None where the vendor documents nothing (an empty value)."""
    row = fact(package, key, table)
    return row.sourced(int(row["value"])) if row["value"] else None


def text_fact(package: str, key: str, table: str = FACTS) -> Sourced[str] | None:
    row = fact(package, key, table)
    return row.sourced(row["value"]) if row["value"] else None
