"""Application configuration: the pool sizes and server concurrency that Rails, Spring Boot,
Python, Node and Go applications declare in their own files.

Each family is one module with `claims(path, head) -> bool` (which files it reads, by name and
a cheap look at the first bytes) and a reader; `READERS` lists them for an input-kind
registry. `read_apps(paths)` reads claimed files and groups what they declare by application
directory; one bad file is a located error and the others are still read. Parsers
(tree-sitter grammars) are imported only when a file of their kind is read.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial

from connbudget import confine
from connbudget.errors import InputError
from connbudget.frontends.apps import go, node, python, rails, spring
from connbudget.frontends.apps.model import AppConfig, FileResult, env_names


@dataclass(frozen=True)
class Reader:
    name: str
    claims: Callable[[str, bytes], bool]
    read: Callable[[list[str]], list[FileResult]]


def _each(read_file: Callable[[str], FileResult]) -> Callable[[list[str]], list[FileResult]]:
    return lambda paths: [_isolated(partial(read_file, path), path) for path in paths]


def _isolated(read: Callable[[], FileResult], path: str) -> FileResult:
    """A reader's crash on one file is that file's located error, never a traceback."""
    try:
        return read()
    except (RecursionError, MemoryError, ValueError) as error:
        return FileResult(path, errors=[InputError(path, 0, f"not read: {type(error).__name__}")])


def _spring(paths: list[str]) -> list[FileResult]:
    groups: dict[str, list[str]] = {}
    for path in paths:
        groups.setdefault(app_directory(path), []).append(path)
    return [_isolated(partial(spring.read_group, group), group[0]) for group in groups.values()]


READERS: tuple[Reader, ...] = (
    Reader("rails", rails.claims, _each(rails.read_file)),
    Reader("spring", spring.claims, _spring),
    Reader("python", python.claims, _each(python.read_file)),
    Reader("node", node.claims, _each(node.read_file)),
    Reader("go", go.claims, _each(go.read_file)),
)

_MARKERS = ("package.json", "go.mod", "pyproject.toml", "requirements.txt", "manage.py",
            "setup.py", "Gemfile", "pom.xml", "build.gradle", "build.gradle.kts", "Dockerfile",
            "Procfile")


def app_directory(path: str) -> str:
    """The application a file belongs to: the directory above a Rails `config/` or a Spring
    `src/main/resources`, else the nearest directory (inside the scan) with a project file
    (package.json, go.mod, pyproject.toml, Gemfile, pom.xml, Dockerfile, ...), else the file's
    own directory."""
    directory = os.path.dirname(os.path.abspath(path))
    parts = directory.split(os.sep)
    if parts[-3:] == ["src", "main", "resources"]:
        return os.sep.join(parts[:-3])
    if parts[-1] == "config" or parts[-2:-1] == ["config"]:  # config/, config/puma/
        return os.sep.join(parts[:-1] if parts[-1] == "config" else parts[:-2])
    while confine.outside(directory, [path]) is None:
        if any(confine.is_regular(os.path.join(directory, marker)) for marker in _MARKERS):
            return directory
        parent = os.path.dirname(directory)
        if parent == directory:
            break
        directory = parent
    return os.path.dirname(os.path.abspath(path))


def read_apps(paths: Iterable[str], heads: Callable[[str], bytes] | None = None) -> list[AppConfig]:
    """The application configurations of `paths`: each path goes to the first reader that
    claims it (`heads` gives a file's first bytes, read through the confined reader by
    default); files nobody claims are ignored."""
    head_of = heads or (lambda path: confine.read_head(path, node.HEAD_BYTES))
    claimed: dict[str, list[str]] = {}
    for path in paths:
        head = head_of(path)
        reader = next((reader for reader in READERS if reader.claims(path, head)), None)
        if reader is not None:
            claimed.setdefault(reader.name, []).append(path)
    results = [result for reader in READERS if reader.name in claimed
               for result in reader.read(claimed[reader.name])]
    return group(results)


def group(results: Iterable[FileResult]) -> list[AppConfig]:
    """File results gathered per application directory."""
    apps: dict[str, AppConfig] = {}
    for result in results:
        directory = app_directory(result.file)
        app = apps.setdefault(directory, AppConfig(directory))
        app.files.append(result.file)
        app.pools.extend(result.pools)
        app.servers.extend(result.servers)
        app.errors.extend(result.errors)
        app.libraries.update(result.libraries)
        if result.comments:
            app.comments.setdefault(result.file, []).extend(result.comments)
        for pool in result.pools:
            app.env.update(pool.target.env, pool.variant.selectors)
            for setting in pool.settings:
                app.env |= env_names(setting.effective)
        for server in result.servers:
            app.env.update(server.variant.selectors)
            for setting in (server.processes, server.threads):
                app.env |= env_names(setting.effective)
    return sorted(apps.values(), key=lambda app: app.directory)


__all__ = ["READERS", "Reader", "app_directory", "group", "read_apps"]
