"""Reading application configuration files: each path to the family that claims it, one
file's failure isolated to that file, what they declare grouped by application directory; and
the front end of each application input kind (`connbudget.kinds`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial

from connbudget import confine
from connbudget.comments import Comment
from connbudget.errors import InputError
from connbudget.frontends.apps import claims, dockerfile, go, node, python, rails, spring
from connbudget.frontends.apps.model import AppConfig, FileResult, env_names
from connbudget.kinds import Read, ReadContext


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
    Reader("rails", claims.rails, _each(rails.read_file)),
    Reader("spring", claims.spring, _spring),
    Reader("python", claims.python, _each(python.read_file)),
    Reader("node", claims.node, _each(node.read_file)),
    Reader("go", claims.go, _each(go.read_file)),
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
    head_of = heads or (lambda path: confine.read_head(path, claims.HEAD_BYTES))
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


def _kind(name: str, paths: list[str]) -> Read:
    """One family's files as an input kind: its file results, their errors and comments."""
    reader = next(reader for reader in READERS if reader.name == name)
    results = reader.read(paths)
    comments: dict[str, list[Comment]] = {}
    for result in results:
        for comment in result.comments:
            comments.setdefault(comment.file, []).append(comment)
    return Read(results, [error for result in results for error in result.errors], comments)


def read_rails(paths: list[str], context: ReadContext) -> Read:
    return _kind("rails", paths)


def read_spring(paths: list[str], context: ReadContext) -> Read:
    return _kind("spring", paths)


def read_python(paths: list[str], context: ReadContext) -> Read:
    return _kind("python", paths)


def read_node(paths: list[str], context: ReadContext) -> Read:
    return _kind("node", paths)


def read_go(paths: list[str], context: ReadContext) -> Read:
    return _kind("go", paths)


def read_dockerfiles(paths: list[str], context: ReadContext) -> Read:
    found: list[dockerfile.Dockerfile] = []
    errors: list[InputError] = []
    for path in paths:
        read = dockerfile.read_file(path)
        if isinstance(read, InputError):
            errors.append(read)
        else:
            found.append(read)
    return Read(found, errors)


__all__ = ["READERS", "Reader", "app_directory", "group", "read_apps"]
