"""Application configuration tied to the deploying units that run it, and the clients it makes.

Which unit runs which application, first rule that applies:
1. `[tool.connbudget.apps]` maps the application's directory to the unit's address;
2. the unit's repository directory (a compose service's build context, or the host directory
   its working_dir is bind-mounted from) is the application's, or holds it alone;
3. its image names a build of the repository: a compose service builds that image from the
   application's directory, or the image's name is that of a directory with a Dockerfile
   (`ghcr.io/acme/orders:1.4` and `orders/Dockerfile`);
4. the scanned files hold one application, and the unit runs an image of its own (not a
   Docker official image such as `redis:7`).
An application no unit can be tied to is an Unread item (its databases are not "ok"), never
applied to a guess.

A tied container's numbers come from the application's files evaluated against its
environment, the unit's own variables over the Dockerfile's ENV (the framework's precedence:
a variable the file reads overrides the file's default). Its command (else the Dockerfile's)
says which server runs: puma, sidekiq, gunicorn or celery, flags over the server's config
file. Per process: a Rails pool opens at most one connection per thread (min(pool, threads));
a Django connection is per thread; every other pool is opened whole by each process (each
Spring datasource, SQLAlchemy pool_size + max_overflow, knex/pg/Prisma/pgx). Each pool is a
client of its own: it may reach another database.

CPU counts are never known here: `os.cpu_count()`, `runtime.NumCPU()`, `os.cpus()` and
Prisma's physical core count report the machine the container runs on, not a CPU limit
(benoitc/gunicorn#2028; a 0.25 vCPU Fargate task reports 2 CPUs,
HHS/simpler-grants-gov#638, read 2026-12-07), so a number that depends on them is unknown.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

from connbudget.frontends.apps.commands import server_from_command
from connbudget.frontends.apps.dockerfile import Dockerfile
from connbudget.frontends.apps.model import (
    ALWAYS,
    AppConfig,
    Const,
    Cpu,
    Env,
    Expr,
    FileResult,
    Op,
    Pool,
    Server,
    Setting,
    Span,
    Unknown,
    UrlParam,
    evaluate,
)
from connbudget.frontends.apps.read import group
from connbudget.model import Client, Origin, Unread, Value, Written
from connbudget.providers.apps.commands import apply_command
from connbudget.providers.apps.env import EnvVar, PoolSettings, merge, pool_settings
from connbudget.providers.context import BuildContext, Runs, Unit

KINDS = ("rails", "spring", "python-app", "node-app", "go-app")
_CPU_NOTE = ("a CPU count in the application's configuration is the machine's, not the "
             "container's CPU limit: state the number instead")


@dataclass(frozen=True)
class _Tie:
    container: Runs
    app: AppConfig
    how: str
    dockerfile: Dockerfile | None


def build(parsed: dict[str, Any], context: BuildContext) -> None:
    results: list[FileResult] = [result for kind in KINDS for result in parsed.get(kind, [])]
    apps = [app for app in group(results) if app.pools]
    if not apps:
        return
    dockerfiles: list[Dockerfile] = parsed.get("dockerfile", [])
    built = _built_images(context.units)
    tied: set[str] = set()
    for unit in context.units:
        ties = _ties(unit, apps, dockerfiles, built, context)
        if ties:
            _apply(unit, ties, context)
            tied.update(tie.app.directory for tie in ties)
    for app in apps:
        if app.directory not in tied:
            context.model.unread.append(_unread(app, context))


# ---------------------------------------------------------------- which unit runs which app

def _norm(path: str) -> str:
    return os.path.normpath(os.path.abspath(path))


def _inside(path: str, directory: str) -> bool:
    return path == directory or path.startswith(directory.rstrip(os.sep) + os.sep)


def _app_at(directory: str, apps: list[AppConfig]) -> AppConfig | None:
    """The application of `directory`: its own, else the only one inside it."""
    directory = _norm(directory)
    own = next((app for app in apps if _norm(app.directory) == directory), None)
    if own is not None:
        return own
    inside = [app for app in apps if _inside(_norm(app.directory), directory)]
    return inside[0] if len(inside) == 1 else None


_DOCKER_HUB = ("docker.io", "index.docker.io", "registry-1.docker.io")


def _image(image: str) -> tuple[str, list[str]]:
    """An image reference's registry ("" when none is written) and repository path, without
    tag or digest: `ghcr.io/acme/orders:1.4` -> ("ghcr.io", ["acme", "orders"])."""
    parts = image.split("@", 1)[0].lower().split("/")
    parts[-1] = parts[-1].split(":", 1)[0]
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        return parts[0], parts[1:]
    return "", parts


def _repository(image: str) -> str:
    return "/".join(_image(image)[1])


def _official(image: str) -> bool:
    """A Docker official image (`redis:7`, `library/nginx`, `docker.io/postgres`): never a
    build of the repository."""
    registry, path = _image(image)
    return registry in ("", *_DOCKER_HUB) and (len(path) == 1 or path[0] == "library")


def _built_images(units: list[Unit]) -> dict[str, str]:
    """Image repository -> the directory a compose service builds it from."""
    found: dict[str, str] = {}
    for unit in units:
        for container in unit.containers:
            if container.image and container.directories and unit.client.platform == "compose":
                found.setdefault(_repository(container.image), container.directories[0])
    return found


def _dockerfile_in(directory: str, dockerfiles: list[Dockerfile]) -> Dockerfile | None:
    found = [d for d in dockerfiles if _norm(d.directory) == _norm(directory)]
    return found[0] if len(found) == 1 else None


def _by_image(container: Runs, apps: list[AppConfig], built: dict[str, str],
              dockerfiles: list[Dockerfile]) -> tuple[AppConfig, str, str] | None:
    if not container.image:
        return None
    repository = _repository(container.image)
    directory = built.get(repository)
    how = f"its image {repository} is built from {{}} (a compose build)"
    if directory is None:
        named = [d for d in dockerfiles
                 if os.path.basename(_norm(d.directory)) == repository.rsplit("/", 1)[-1]]
        if len(named) != 1:
            return None
        directory = named[0].directory
        how = f"its image {repository} is named for the build in {{}} ({named[0].file})"
    app = _app_at(directory, apps)
    return (app, how.format(_shown(directory)), directory) if app is not None else None


def _shown(path: str) -> str:
    return os.path.relpath(path) if not os.path.relpath(path).startswith("..") else path


def _ties(unit: Unit, apps: list[AppConfig], dockerfiles: list[Dockerfile],
          built: dict[str, str], context: BuildContext) -> list[_Tie]:
    address = unit.client.where.address
    mapped = [directory for directory, units in context.settings.apps.items()
              if address in units]
    if mapped and unit.containers:
        app = _app_at(mapped[0], apps)
        if app is None:
            return []
        return [_Tie(unit.containers[0], app, "[tool.connbudget.apps] maps it",
                     _dockerfile_in(app.directory, dockerfiles))]
    ties: list[_Tie] = []
    for container in unit.containers:
        found = next(((app, "its build context or working_dir", directory)
                      for directory in container.directories
                      for app in [_app_at(directory, apps)] if app is not None), None)
        found = found or _by_image(container, apps, built, dockerfiles)
        if found is None and len(apps) == 1 and container.image \
                and not _official(container.image):
            found = (apps[0], "the scanned files hold one application", apps[0].directory)
        if found is not None:
            app, how, directory = found
            ties.append(_Tie(container, app, how, _dockerfile_in(directory, dockerfiles)
                             or _dockerfile_in(app.directory, dockerfiles)))
    return ties


def _unread(app: AppConfig, context: BuildContext) -> Unread:
    pool = app.pools[0]
    base = os.path.dirname(context.settings.config_file) if context.settings.config_file \
        else os.getcwd()
    directory = os.path.relpath(app.directory, base)
    return Unread(
        f"application {_shown(app.directory)}",
        "no deploying unit in the scanned files is tied to it: no compose build context or "
        "working_dir, no image built from its directory, and it is not the only application",
        pool.file, pool.at.line,
        f'map it in the config: [tool.connbudget.apps] "{directory}" = ["<unit address>"]',
        kind="file")


# ---------------------------------------------------------------- the clients of a tied unit

def _apply(unit: Unit, ties: list[_Tie], context: BuildContext) -> None:
    model = context.model
    if unit.talks:
        model.clients = [c for c in model.clients if c is not unit.client]
    made: list[Client] = []
    for tie in ties:
        made += _app_clients(unit, tie, context)
    rest = [c for c in unit.containers if all(c is not tie.container for tie in ties)]
    found = [_env_settings(c, context) for c in rest]
    merged = merge(found)
    if merged is not None:
        made.append(replace(unit.client, processes=merged.processes, pool=merged.pool,
                            pool_setting=merged.pool_setting, refs=merged.refs,
                            notes=merged.notes, library=merged.library))
    model.clients += made
    if made:
        # the application's files say how it connects: its service is no longer a coverage item
        where = unit.client.where
        model.unread = [item for item in model.unread
                        if not (item.kind == "client" and item.what == where.address
                                and item.file == where.file)]


def _env_settings(container: Runs, context: BuildContext) -> PoolSettings:
    item = pool_settings(container.env, container.origin, context.settings.default_pool_sizes)
    apply_command(item, container.command, container.origin)
    return item


def _environment(tie: _Tie) -> tuple[dict[str, EnvVar], dict[str, str | None]]:
    """The container's variables over the Dockerfile's ENV, and their values as the
    evaluation reads them (None: set to a value not read; absent: unset)."""
    env: dict[str, EnvVar] = {}
    if tie.dockerfile is not None:
        env = {name: EnvVar(name, found.value, file=tie.dockerfile.file, line=found.line)
               for name, found in tie.dockerfile.env.items()}
    env.update(tie.container.env)
    values: dict[str, str | None] = {name: None if var.secret else var.value
                                     for name, var in env.items()}
    if not tie.container.env_complete:  # what the unit does not say may come from elsewhere
        values.update({name: None for name in tie.app.env if name not in tie.container.env})
    return env, values


def _chosen(items: list[Any], values: dict[str, str | None]) -> list[Any]:
    """Of pools or servers, those whose section applies: a selected section replaces the
    ALWAYS one of the same file and name; a section that may apply counts."""
    live = [item for item in items if item.variant.selected(values) is not False]
    picked = {(item.file, _name(item)) for item in live if item.variant is not ALWAYS
              and item.variant.value is not None}
    return [item for item in live if item.variant.value is not None
            or (item.file, _name(item)) not in picked]


def _sections(pools: list[Pool]) -> tuple[list[Pool], set[Pool]]:
    """One pool per file and name: where several sections may apply (the variable that
    selects one is not read), the first stands for them, its size unknown."""
    first: dict[tuple[str, str], Pool] = {}
    undecided: set[Pool] = set()
    for pool in pools:
        key = (pool.file, pool.name)
        if key in first:
            undecided.add(first[key])
        else:
            first[key] = pool
    return list(first.values()), undecided


def _name(item: Pool | Server) -> str:
    return item.name if isinstance(item, Pool) else item.kind


@dataclass
class _Context:
    """One tied container: its variables, their values, its origin."""

    env: dict[str, EnvVar]
    values: dict[str, str | None]
    origin: Origin


def _app_clients(unit: Unit, tie: _Tie, context: BuildContext) -> list[Client]:
    env, values = _environment(tie)
    here = _Context(env, values, tie.container.origin)
    command = tie.container.command or (tie.dockerfile.command if tie.dockerfile else ())
    server, server_how = _server(tie.app, command, values, tie)
    fallback = _env_settings(tie.container, context)
    unknown_server = server_how if server is None and tie.app.servers else ""
    processes, processes_written = _processes(server, fallback, here, unknown_server)
    threads = _threads(server, here)
    pools, undecided = _sections(_chosen(tie.app.pools, values))
    clients = []
    for pool in pools:
        size, written, setting = _pool_size(pool, threads, here)
        if pool in undecided:
            size, written = Value(None, Origin(
                f"{pool.name}: which section applies is not known ("
                f"{' or '.join(pool.variant.selectors)} is set where the files do not say)",
                pool.file, pool.at.line), assumed=True), None
        refs = _refs(pool, here) or fallback.refs
        notes = [f"application configuration of {_shown(tie.app.directory)} ({tie.how})",
                 server_how, *fallback.notes]
        if pool.transient:
            notes.append(f"{pool.name} connects only while a process starts (migrations)")
        if any(_cpu_unknown(value) for value in (processes, size)):
            notes.append(_CPU_NOTE)
        where = unit.client.where
        if len(pools) > 1:
            where = replace(where, address=f"{where.address} ({pool.name})")
        clients.append(replace(
            unit.client, where=where, processes=Value(1, Origin(
                f"{pool.name}: one migration per starting {unit.client.platform} unit"))
            if pool.transient else processes, pool=size, pool_setting=setting, refs=refs,
            user=fallback.user, database=fallback.database, notes=[n for n in notes if n],
            library=pool.library, pool_written=written,
            processes_written=None if pool.transient else processes_written))
    return clients


def _cpu_unknown(value: Value) -> bool:
    return value.value is None and "CPU" in value.origin.text


# ---------------------------------------------------------------- servers

def _rails_server(words: tuple[str, ...]) -> bool:
    return any(word.endswith("rails") and following in ("server", "s")
               for word, following in zip(words, words[1:], strict=False))


def _server(app: AppConfig, command: tuple[str, ...], values: dict[str, str | None],
            tie: _Tie) -> tuple[Server | None, str]:
    """The server the command runs, flags over the server's own configuration file."""
    servers = _chosen(app.servers, values)
    at = Span(tie.container.origin.file, tie.container.origin.line, 0,
              tie.container.origin.line, 0)
    if not command:
        kinds = {server.kind for server in servers}
        if len(kinds) == 1:
            kind = kinds.pop()
            return next(s for s in servers if s.kind == kind), (
                f"its command is not in the files; the application configures {kind} only")
        return None, "its command is not in the files: which server runs is not known"
    flags, config = server_from_command(command, at)
    if flags is None and _rails_server(command):
        flags, config = server_from_command(["puma"], at)
    if flags is None:
        return None, ""
    own = [s for s in servers if s.kind == flags.kind]
    if config:
        own = [s for s in own if s.file.endswith(config.lstrip("./"))] or own
    elif flags.kind == "gunicorn":  # without -c, gunicorn reads ./gunicorn.conf.py only
        own = [s for s in own if os.path.basename(s.file) == "gunicorn.conf.py"]
    if not own:
        return flags, ""
    file = own[0]
    return replace(file, processes=_over(flags.processes, file.processes),
                   threads=_over(flags.threads, file.threads),
                   model=flags.model if flags.kind != "gunicorn" or file.model is None
                   else file.model), ""


def _over(flag: Setting, file: Setting) -> Setting:
    """A command-line flag wins over the file when the command sets it."""
    return flag if flag.value is not None else file


def _processes(server: Server | None, fallback: PoolSettings, here: _Context,
               unknown_server: str) -> tuple[Value, Written | None]:
    if server is None and unknown_server:
        return Value(None, Origin(unknown_server, here.origin.file, here.origin.line),
                     assumed=True), None
    if server is None:
        return fallback.processes, None
    value, written, _ = _decide(server.processes, here, f"{server.kind} {server.processes.name}")
    if server.kind == "puma" and value.value == 0:  # single mode: the one process serves
        return Value(1, Origin(f"{value.origin.text} (puma single mode: 1 process)",
                               value.origin.file, value.origin.line)), written
    return value, written


def _threads(server: Server | None,
             here: _Context) -> tuple[Value, Written | None, str] | None:
    """Threads per process, where a fix writes them, and the setting a fix names."""
    if server is None:
        return None
    value, written, name = _decide(server.threads, here, f"{server.kind} {server.threads.name}")
    return value, written, name or f"{server.kind} {server.threads.name}"


# ---------------------------------------------------------------- pools

def _pool_size(pool: Pool, threads: tuple[Value, Written | None, str] | None,
               here: _Context) -> tuple[Value, Written | None, str]:
    """Connections one process opens through `pool`, where a fix writes it, and the setting
    a fix names."""
    if pool.per == "thread":
        if threads is None:
            return (Value(None, Origin(f"{pool.name}: one connection per thread, and which "
                                       "server runs it is not known", pool.file, pool.at.line),
                          assumed=True), None, "the server's thread count")
        count, written, name = threads
        return Value(count.value, replace(count.origin, text=f"{pool.library}: one connection "
                                                              f"per thread; {count.origin.text}"),
                     count.assumed, count.unlimited), written, name
    parts = [_decide(setting, here, f"{pool.library} {setting.name}")
             for setting in pool.settings]
    if len(parts) > 1:
        return _summed(pool, parts)
    value, written, name = parts[0]
    name = name or pool.settings[0].name
    if pool.unlimited_at_or_below_zero and value.value is not None and value.value <= 0:
        value = Value(None, Origin(f"{value.origin.text}: no limit", value.origin.file,
                                   value.origin.line), assumed=True, unlimited=True)
    if pool.library == "activerecord" and threads is not None and threads[0].known \
            and value.known and (threads[0].value or 0) < (value.value or 0):
        count, count_written, count_name = threads
        text = (f"{count.origin.text}: one connection per thread, fewer than the pool "
                f"({value.value})")
        return Value(count.value, replace(count.origin, text=text),
                     assumed=count.assumed), count_written, count_name
    return value, written, name


def _summed(pool: Pool, parts: list[tuple[Value, Written | None, str]],
            ) -> tuple[Value, Written | None, str]:
    """SQLAlchemy: pool_size + max_overflow. A fix writes pool_size, less max_overflow."""
    values = [value for value, _, _ in parts]
    text = " + ".join(value.origin.text for value in values)
    first = values[0].origin
    if any(value.value is None for value in values):
        return Value(None, Origin(text, first.file or pool.file, first.line or pool.at.line),
                     assumed=True), None, " + ".join(s.name for s in pool.settings)
    total = sum(value.value or 0 for value in values)
    written = parts[0][1]
    if written is not None:
        written = replace(written, less=sum(value.value or 0 for value in values[1:]))
    return (Value(total, Origin(text, first.file or pool.file, first.line or pool.at.line),
                  assumed=any(value.assumed for value in values)), written,
            parts[0][2] or pool.settings[0].name)


def _term(expr: Expr, values: dict[str, str | None]) -> Expr:
    """The part of `expr` that decides its value in this environment: a constant, a variable
    that is set, or a computation."""
    if isinstance(expr, Env):
        unset = expr.name not in values or (expr.empty_is_unset and values[expr.name] == "")
        return _term(expr.default, values) if unset and expr.default is not None else expr
    if isinstance(expr, UrlParam):
        raw = values.get(expr.env)
        said = expr.env in values and (raw is None or any(
            f"{param}=" in raw for param in expr.params))
        return _term(expr.default, values) if not said and expr.default is not None else expr
    return expr


def _decide(setting: Setting, here: _Context, label: str) -> tuple[Value, Written | None, str]:
    """A setting's number in this container, with the file and line that decide it, where a
    fix writes it, and the environment variable that set it ("" when none did)."""
    number, why = evaluate(setting.effective, here.values, None)
    term = _term(setting.effective, here.values)
    text = f"{label}: {why}"
    if isinstance(term, (Env, UrlParam)) and number is not None:
        name = term.name if isinstance(term, Env) else term.env
        var = here.env.get(name)
        file = var.file if var is not None and var.file else here.origin.file
        line = var.line if var is not None and var.file else here.origin.line
        if isinstance(term, UrlParam):  # the URL's parameter is what to change
            raw = var.value or "" if var is not None else ""
            name = next((param for param in term.params if f"{param}=" in raw), name)
        return Value(number, Origin(text, file, line)), None, name
    if number is None:
        at = _at(term) or setting.at
        file, line = (at.file, at.line) if at is not None else (here.origin.file,
                                                                here.origin.line)
        return Value(None, Origin(text, file, line), assumed=True), None, ""
    if isinstance(term, Const) and term.at is not None:
        at = term.at
        if at.line != at.end_line or not at.column:
            return Value(number, Origin(text, at.file, at.line)), None, ""
        origin = Origin(text, at.file, at.line, at.column, at.end_column)
        return Value(number, origin), Written(f"{setting.name} ({at.file}:{at.line})",
                                              origin), ""
    if isinstance(term, Const) and (_within(term, setting.value)
                                    or not _within(term, setting.default)):
        return Value(number, Origin(text, here.origin.file, here.origin.line)), None, ""
    if isinstance(term, Const):  # a library default: the setting is not in the files
        insert = setting.insert
        if insert is None:
            return Value(number, Origin(text, here.origin.file, here.origin.line),
                         assumed=True), None, ""
        origin = Origin(text, insert.file, max(insert.line - 1, 1))
        return Value(number, origin, assumed=True), Written(
            f"{setting.name} ({insert.file})", Origin(text, insert.file, insert.line,
                                                      insert.column), insert=insert.text), ""
    at = _at(term) or setting.at
    file, line = (at.file, at.line) if at is not None else (here.origin.file, here.origin.line)
    return Value(number, Origin(text, file, line)), None, ""


def _within(term: Expr, expr: Expr | None) -> bool:
    """Whether `term` is part of `expr` (the same object)."""
    if term is expr:
        return True
    if isinstance(expr, (Env, UrlParam)):
        return _within(term, expr.default)
    if isinstance(expr, Op):
        return any(_within(term, arg) for arg in expr.args)
    return False


def _at(expr: Expr) -> Span | None:
    if isinstance(expr, (Const, Env, UrlParam, Cpu, Op, Unknown)):
        return expr.at
    return None


# ---------------------------------------------------------------- where a pool connects

_HOST = re.compile(r"^[A-Za-z0-9_.-]+(?::\d+)?$")


def _host(text: str) -> str | None:
    text = text.strip()
    if text.startswith("jdbc:"):
        text = text[len("jdbc:"):]
    if "://" in text:
        try:
            host = urlsplit(text).hostname
        except ValueError:
            return None
        return host.lower() if host and "$" not in host else None
    return text.split(":")[0].lower() if _HOST.match(text) else None


def _refs(pool: Pool, here: _Context) -> set[str]:
    """What the pool's target names in this container: the last variable it reads that the
    container sets (DATABASE_URL over database.yml's host, SPRING_DATASOURCE_URL over
    spring.datasource.url), else the host the file writes."""
    for name in reversed(pool.target.env):
        var = here.env.get(name)
        if var is None:
            continue
        found = set(var.references)
        host = _host(var.value) if var.value and not var.secret else None
        return found | ({host} if host else set())
    if pool.target.text and "${" not in pool.target.text:
        host = _host(pool.target.text)
        return {host} if host else set()
    return set()
