"""Dockerfiles, for what an image built in the repository runs: the final stage's ENV (the
defaults a deploying unit's own environment overrides), its ENTRYPOINT and CMD (the command
when the unit names none) and its directory (the build an image of that name comes from).

Parsed with dockerfile-parse (line continuations, the escape directive, ENV quoting); a stage
`FROM <earlier stage>` inherits that stage's ENV, ENTRYPOINT and CMD, as BuildKit builds it.
"""

from __future__ import annotations

import io
import json
import os
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from connbudget.errors import InputError
from connbudget.frontends.apps.source import read


@dataclass(frozen=True)
class EnvDefault:
    value: str
    line: int


@dataclass
class Dockerfile:
    file: str
    env: dict[str, EnvDefault] = field(default_factory=dict)
    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    line: int = 0  # of the CMD (else the ENTRYPOINT) that decides the command

    @property
    def directory(self) -> str:
        return os.path.dirname(self.file) or "."

    @property
    def command(self) -> tuple[str, ...]:
        return (*self.entrypoint, *self.cmd)


def _words(value: str) -> tuple[str, ...]:
    """An exec-form (JSON array) or shell-form instruction value as words."""
    text = value.strip()
    if text.startswith("["):
        try:
            found = json.loads(text)
        except ValueError:
            found = None
        if isinstance(found, list) and all(isinstance(word, str) for word in found):
            return tuple(found)
    try:
        return tuple(shlex.split(text))
    except ValueError:
        return tuple(text.split())


def _stages(structure: Sequence[Mapping[str, object]], file: str) -> Dockerfile:
    from dockerfile_parse.util import extract_key_values

    stages: dict[str, Dockerfile] = {}
    current = Dockerfile(file)
    for item in structure:
        instruction = str(item.get("instruction", "")).upper()
        value = str(item.get("value", ""))
        line = int(str(item.get("startline", 0))) + 1
        if instruction == "FROM":
            words = value.split()
            parent = stages.get(words[0].lower()) if words else None
            current = Dockerfile(file, dict(parent.env), parent.entrypoint, parent.cmd,
                                 parent.line) if parent else Dockerfile(file)
            if len(words) == 3 and words[1].upper() == "AS":
                stages[words[2].lower()] = current
        elif instruction == "ENV":
            for name, setting in extract_key_values(False, {}, {}, value):
                current.env[name] = EnvDefault(setting, line)
        elif instruction == "ENTRYPOINT":
            # a new ENTRYPOINT clears the CMD an earlier stage set
            current.entrypoint, current.cmd, current.line = _words(value), (), line
        elif instruction == "CMD":
            current.cmd, current.line = _words(value), line
    return current


# Dockerfiles are a few KiB; the parser's work grows faster than the size of a long run of
# continuation lines, so a larger file is refused before it is parsed.
MAX_BYTES = 128 * 1024


def read_file(path: str) -> Dockerfile | InputError:
    source = read(path)
    if isinstance(source, InputError):
        return source
    if len(source.data) > MAX_BYTES:
        return InputError(path, 1, f"a Dockerfile larger than {MAX_BYTES // 1024} KiB, not read")
    from dockerfile_parse import DockerfileParser

    try:
        parser = DockerfileParser(fileobj=io.StringIO(source.text), env_replace=False)
        return _stages(parser.structure, path)
    except (ValueError, IndexError, KeyError):
        return InputError(path, 1, "Dockerfile that cannot be parsed")
