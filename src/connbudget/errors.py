"""Error types every layer shares: a leaf module that imports nothing of connbudget."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class UsageError(Exception):
    """A problem with the command line or the config file: exit 2, no traceback."""


@dataclass(frozen=True)
class InputError:
    file: str
    line: int
    message: str
    column: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}"
        if self.column is not None:
            where += f":{self.column}"
        return f"{where}: {self.message}"

    def as_json(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "message": self.message}
