"""Services of a compose file (compose-spec.io): image, command, environment, replicas, the
services each depends on, and the directories of the repository a service runs (its `build`
context, and the host directory its `working_dir` is bind-mounted from), relative to the compose
file.

`environment` is a map or a list of `KEY=VALUE`; `${VAR:-default}` and `${VAR-default}` take
their default (the value when VAR is unset), any other `${VAR}` stays unresolved. Replicas:
`deploy.replicas`, else the legacy `scale`, else 1 (compose-spec: deploy.replicas default 1).
`env_file` contents are not read: the service says so. A PostgreSQL service whose command names
its configuration file (`-c config_file=PATH`) reads the file bind-mounted there: that file is
read as postgresql.conf (relative to the compose file, inside the scanned tree).
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from connbudget import confine
from connbudget.comments import Comment, may_suppress
from connbudget.errors import InputError
from connbudget.frontends.kubernetes.comments import comments as yaml_comments
from connbudget.frontends.kubernetes.safeyaml import (
    MAX_FILE_BYTES,
    LList,
    LMap,
    Span,
    read_documents,
    scalar_text,
)
from connbudget.frontends.postgresql.conf import PostgresConf, load_conf
from connbudget.kinds import Candidate, Read, ReadContext, looks_like_postgresql_conf
from connbudget.numbers import count
from connbudget.providers.postgresql.selfmanaged import Word, config_file

_DEFAULT = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*:?-([^}]*)\}")


@dataclass(frozen=True)
class ComposeVar:
    name: str
    value: str | None
    line: int
    span: Span | None = None  # where the value is written (a `KEY=value` item's value part)


@dataclass
class ComposeService:
    name: str
    image: str
    command: list[str]
    env: list[ComposeVar]
    replicas: int | None  # None: not a number
    replicas_line: int
    replicas_set: bool
    hosts: set[str]  # the names other services reach it by
    file: str
    line: int
    notes: list[str] = field(default_factory=list)
    # the services it starts after or links to (`depends_on`, `links`), by name
    depends: tuple[str, ...] = ()
    build: str = ""  # the build context, a path relative to the working directory
    working_dir: str = ""  # inside the container
    # bind mounts: (the file or directory of the tree, the path in the container)
    mounts: tuple[tuple[str, str], ...] = ()
    command_line: int = 0  # the line of its command (or entrypoint)
    # the postgresql.conf its command names, when a bind mount of the tree holds it
    config: PostgresConf | None = None
    config_missing: str = ""  # why the configuration file its command names is not read

    @property
    def directories(self) -> tuple[str, ...]:
        """The repository directories it runs: its build context, and the host directory its
        working_dir lies in (through a bind mount)."""
        found = [self.build] if self.build else []
        for source, target in self.mounts:
            inside = os.path.relpath(self.working_dir, target) if self.working_dir else ""
            if inside and not inside.startswith(".."):
                found.append(os.path.normpath(os.path.join(source, inside)))
        return tuple(dict.fromkeys(found))


def _words(value: Any) -> list[str]:
    if isinstance(value, LList):
        return [scalar_text(v) for v in value]
    if isinstance(value, str):
        try:
            return shlex.split(value)
        except ValueError:
            return value.split()
    return []


def _value(text: str) -> str | None:
    text = _DEFAULT.sub(lambda m: m.group(1), text)
    return None if "${" in text or text.startswith("$") and len(text) > 1 else text


def _after_key(span: Span | None, text: str, skip: int) -> Span | None:
    """The span of the value part of an unquoted `KEY=value` item written on one line."""
    if span is None or span[0] != span[2] or span[3] - span[1] != len(text):
        return None
    return (span[0], span[1] + skip, span[2], span[3])


def _env(value: Any, line: int) -> list[ComposeVar]:
    found: list[ComposeVar] = []
    if isinstance(value, LMap):
        for key, item in value.items():
            found.append(ComposeVar(str(key), None if item is None else _value(scalar_text(item)),
                                    value.lines.get(key, line), value.spans.get(key)))
    elif isinstance(value, LList):
        for index, (item, item_line) in enumerate(zip(value, value.lines, strict=True)):
            text = scalar_text(item)
            if "=" in text:
                key, raw = text.split("=", 1)
                found.append(ComposeVar(key.strip(), _value(raw), item_line,
                                        _after_key(value.spans.get(index), text, len(key) + 1)))
            elif text:
                found.append(ComposeVar(text.strip(), None, item_line))  # from the shell
    return found


def _local(file: str, path: str) -> str:
    """A path the compose file names, relative to the file's directory, as a path relative to
    the working directory; "" for a URL or a path that is not a plain string."""
    if not path or "://" in path or path.startswith(("git@", "$", "~")) or "${" in path:
        return ""
    return os.path.normpath(os.path.join(os.path.dirname(file), path))


def _build(value: Any, file: str) -> str:
    context = value.get("context", ".") if isinstance(value, LMap) else value
    return _local(file, context) if isinstance(context, str) else ""


def _mounts(value: Any, file: str) -> tuple[tuple[str, str], ...]:
    """Bind mounts of host paths (`./src:/app`, `.:/app:cached`, `type: bind`)."""
    found: list[tuple[str, str]] = []
    for item in value if isinstance(value, LList) else ():
        if isinstance(item, LMap) and item.get("type") == "bind":
            source, target = item.get("source"), item.get("target")
        elif isinstance(item, str) and item.count(":") >= 1:
            source, target = item.split(":")[:2]
        else:
            continue
        if isinstance(source, str) and isinstance(target, str) \
                and source.startswith((".", "/")):
            host = _local(file, source)
            if host:
                found.append((host, target))
    return tuple(found)


def _service(name: str, spec: LMap, file: str, line: int) -> ComposeService:
    deploy = spec.get("deploy")
    replicas_raw, replicas_line, replicas_set = None, line, False
    if isinstance(deploy, LMap) and "replicas" in deploy:
        replicas_raw, replicas_line, replicas_set = deploy["replicas"], deploy.lines.get(
            "replicas", line), True
    elif "scale" in spec:
        replicas_raw, replicas_line, replicas_set = spec["scale"], spec.lines.get("scale",
                                                                                  line), True
    replicas = count(replicas_raw) if replicas_set else 1
    hosts = {name}
    for key in ("container_name", "hostname"):
        if isinstance(spec.get(key), str):
            hosts.add(spec[key])
    networks = spec.get("networks")
    if isinstance(networks, LMap):
        for network in networks.values():
            aliases = network.get("aliases") if isinstance(network, LMap) else None
            if isinstance(aliases, LList):
                hosts.update(scalar_text(a) for a in aliases)
    notes = []
    if "env_file" in spec:
        notes.append(f"compose service {name} env_file is not read: its variables are unknown")
    words = [*_words(spec.get("entrypoint")), *_words(spec.get("command"))]
    service = ComposeService(name, scalar_text(spec.get("image")), words,
                             _env(spec.get("environment"), spec.lines.get("environment", line)),
                             replicas, replicas_line, replicas_set, {h.lower() for h in hosts},
                             file, line, notes, depends=_depends(spec),
                             build=_build(spec.get("build"), file),
                             working_dir=scalar_text(spec.get("working_dir")),
                             mounts=_mounts(spec.get("volumes"), file),
                             command_line=spec.lines.get("command",
                                                         spec.lines.get("entrypoint", line)))
    _config(service)
    return service


def _depends(spec: LMap) -> tuple[str, ...]:
    """`depends_on` (a list, or a map of conditions) and `links` (`name` or `name:alias`)."""
    found: list[str] = []
    depends = spec.get("depends_on")
    if isinstance(depends, LMap):
        found += [str(key) for key in depends]
    elif isinstance(depends, LList):
        found += [scalar_text(item) for item in depends]
    links = spec.get("links")
    if isinstance(links, LList):
        found += [scalar_text(item).split(":")[0] for item in links]
    return tuple(dict.fromkeys(found))


def _config(service: ComposeService) -> None:
    """The configuration file the command names, read when a bind mount of the tree holds it."""
    named = config_file([Word(word, service.file, service.command_line)
                         for word in service.command])
    if named is None:
        return
    target = named[0].strip("'\"")
    for source, mounted in service.mounts:
        inside = target if mounted == target else (
            os.path.relpath(target, mounted) if target.startswith(mounted.rstrip("/") + "/")
            else None)
        if inside is None:
            continue
        path = source if inside == target else os.path.join(source, inside)
        problem = confine.check(path, (os.path.dirname(service.file) or ".",))
        if problem is not None:
            service.config_missing = f"its command reads {target[:80]}, mounted from a file " \
                f"that is {problem}"
            return
        service.config = load_conf(path)
        return
    service.config_missing = (f"its command reads {target[:80]}, which no bind mount of the "
                              "reviewed tree holds")


def load_compose(paths: Sequence[str]) -> tuple[list[ComposeService], list[InputError],
                                                dict[str, list[Comment]]]:
    """The services of compose files, the errors, and the comments of every file read."""
    services: list[ComposeService] = []
    errors: list[InputError] = []
    comments: dict[str, list[Comment]] = {}
    for path in paths:
        try:
            raw = confine.read_regular(path, MAX_FILE_BYTES + 1)  # never blocks on a FIFO
        except OSError as error:
            errors.append(InputError(path, 0, f"cannot read: {error.strerror or error}"))
            continue
        if len(raw) > MAX_FILE_BYTES:
            errors.append(InputError(path, 0, f"larger than {MAX_FILE_BYTES // 1024 // 1024} MiB"))
            continue
        text = raw.decode("utf-8-sig", errors="replace")
        comments[path] = yaml_comments(path, text) if may_suppress(text) else []
        documents, found = read_documents(text, path)
        errors.extend(found)
        for document in documents:
            block = document.get("services") if isinstance(document, LMap) else None
            if not isinstance(block, LMap):
                continue
            for name, spec in block.items():
                # `x-` keys are extension fields (compose-spec.io, "Extension"), not services
                if isinstance(spec, LMap) and not str(name).startswith("x-"):
                    services.append(_service(str(name), spec, path, block.lines.get(name, 0)))
    return services, errors, comments


def read(paths: list[str], context: ReadContext) -> Read:
    """The `compose` input kind."""
    services, errors, comments = load_compose(paths)
    for service in services:
        # a file named like postgresql.conf is an input of its own, whose reader reports it
        config = service.config
        if config is not None and not looks_like_postgresql_conf(Candidate(config.file)):
            errors += config.errors
            comments.update(config.comments)
    return Read(services, errors, comments)
