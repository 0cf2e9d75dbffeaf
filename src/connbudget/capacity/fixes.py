"""Computed fixes: the largest task count or pool that fits, role limits, and corrected
PgBouncer settings, each written in the syntax of the file that holds the setting and with
every number explained.

One headroom policy for every fix: what connbudget sizes runs at most at the alert threshold
(`threshold`, default 80 %) of the limit above it.

- clients and poolers: their steady worst case at most floor(threshold x usable slots), so that
  applying one fix clears both CB101 and CB102; a rolling deploy within the usable slots;
- a role's CONNECTION LIMIT: the smallest limit its need is at most the threshold of
  (ceil(need / threshold)), the rest for admin sessions, migrations and a pooler restart;
  never above the usable slots.

A fix carries token edits where the file and line of the setting are known: on that line the
value as written becomes the new one (`capacity.edits` turns them into whole-line edits).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from connbudget.capacity.budget import Budget, Path, units
from connbudget.frontends.pgbouncer.model import Setting
from connbudget.model import (
    Client,
    Insert,
    Origin,
    PercentProxy,
    PgBouncer,
    Pooler,
    Value,
    Written,
)
from connbudget.providers.apps.env import UNKNOWN_LIBRARY
from connbudget.providers.registry import client_platform
from connbudget.quoting import comment, toml_string
from connbudget.report import Edit


@dataclass(frozen=True)
class Sized:
    """A number a fix suggests and, in words, where it comes from."""

    value: int
    why: str


@dataclass(frozen=True)
class Pending(Edit):
    """An edit a fix asks for, made into a whole-line `Edit` once the line is read.

    At a recorded position: `column` > 0 replaces columns [column, end_column) of `line` (the
    value's span as its parser gave it) by `new`; `indent` set (and `old` "") puts the lines of
    `new` after `line`, each indented by that many spaces. Otherwise, on `line` (or the line
    after it, or near the first following line that names `near`) the value `old` as written
    becomes `new`; `old` "" puts `new` on the lines after `line`. `choice` numbers the
    alternative of a fix it belongs to: the first alternative whose edits all resolve is
    applied."""

    near: str = ""
    choice: int = 0
    # YAML: the keys from the document's top level to the setting (`line` is in the document);
    # the keys not yet written are added under the deepest one that is
    path: tuple[str, ...] = ()
    column: int = 0
    end_column: int = 0
    indent: int | None = None


def at_span(origin: Origin, new: str) -> Pending | None:
    """The edit that writes `new` over the value at `origin`, when its span is known."""
    if not origin.file or not origin.line or not origin.column:
        return None
    return Pending(origin.file, origin.line, "", new, column=origin.column,
                   end_column=origin.end_column)


def written_edit(written: Written, new: int) -> Pending | None:
    """The edit that writes `new` (less what other settings add) where an application's file
    sets the number, or inserts the setting where the file would have it."""
    value = new - written.less
    at = written.at
    if value < 1:
        return None
    if not written.insert:
        return at_span(at, str(value))
    text = written.insert.replace("{value}", str(value))
    if at.column <= 1 and text.endswith("\n"):  # whole lines, after the line before
        return Pending(at.file, at.line - 1, "", text[:-1], indent=0) if at.line > 1 else None
    return Pending(at.file, at.line, "", text, column=at.column, end_column=at.column)


def written_text(written: Written, new: int) -> str:
    """How a fix names the application's setting and its new number."""
    return f"{written.setting}: {new - written.less}"


@dataclass(frozen=True)
class Fix:
    text: str
    edits: tuple[Edit, ...] = ()  # Pending edits, or whole-line ones (line 0: append)


def join(fixes: list[Fix]) -> Fix:
    """Alternatives, one a line, each with its edits."""
    edits = tuple(replace(e, choice=number) if isinstance(e, Pending) else e
                  for number, fix in enumerate(fixes) for e in fix.edits)
    return Fix("\n".join(f.text for f in fixes if f.text), edits)


def slots_target(budget: Budget) -> Sized:
    """What every client and pooler of a database together are sized to."""
    usable = budget.usable or 0
    return Sized(math.floor(budget.threshold * usable),
                 f"the {budget.threshold * 100:g} % alert threshold of {usable} usable slots")


def role_limit(need: int, usable: int | None, threshold: float) -> Sized:
    wanted = math.ceil(round(need / threshold, 6))
    if usable is not None and wanted > usable:
        more = f"; {need} is more than the database has (CB101)" if need > usable else ""
        return Sized(usable, f"the {usable} usable slots (a need of {need} at "
                             f"{threshold * 100:g} % would ask {wanted}{more})")
    return Sized(wanted, f"the need of {need} at the {threshold * 100:g} % alert threshold of the "
                         "limit, the rest for admin sessions, migrations and restarts")


def _token_edit(value: Value, new: int, near: str = "") -> tuple[Edit, ...]:
    origin = value.origin
    if not origin.file or not origin.line or value.value is None or value.assumed:
        return ()
    exact = at_span(origin, str(new))
    if exact is not None:
        return (exact,)
    return (Pending(origin.file, origin.line, str(value.value), str(new), near),)


def _hcl(file: str) -> bool:
    return file.endswith((".tf", ".tf.json", ".hcl"))


def toml_pin(table: str, address: str, entries: list[tuple[str, str]]) -> str:
    """A [tool.connbudget] table for pyproject.toml, as valid TOML: each entry the reader must
    fill in stays a comment naming what goes there."""
    lines = [f"[tool.connbudget.{table}.{toml_string(address)}]"]
    lines += [comment(f"# {name} = {what}") for name, what in entries]
    return "\n".join(lines)


def setting_text(file: str, key: str, value: int) -> str:
    """`key = 8` in HCL, `"key": 8` in JSON, `key: 8` in YAML."""
    if file.endswith((".json", ".jsonc")) and not _hcl(file):
        return f'"{key}": {value}'
    return f"{key} = {value}" if _hcl(file) else f"{key}: {value}"


def env_line(style: str, name: str, value: int | str) -> str:
    """An environment variable as a file of `style` writes it (a setting named like an option,
    `--max-connections`, as the container's argument)."""
    if name.startswith("-"):
        return f'- "{name}={value}"'
    if style == "hcl-map":
        return f'{name} = "{value}"'
    if style == "json-object":
        return f'{{"name": "{name}", "value": "{value}"}}'
    if style == "hcl-object":
        return f'{{ name = "{name}", value = "{value}" }}'
    if style == "hcl-block":
        return f'env {{ name = "{name}" value = "{value}" }}'
    if style == "hcl-map":
        return f'{name} = "{value}"'
    if style == "yaml-map":
        return f'{name}: "{value}"'
    return f'- name: {name}\n  value: "{value}"'


def role_limit_fix(need: int, usable: int | None, limit: Sized, role_file: str,
                   limit_value: Value) -> Fix:
    if usable is not None and need > usable:
        return Fix(f"the {need} connections it needs do not fit the database's {usable} usable "
                   f"slots: shrink its clients first (CB101/CB104), then set "
                   f"{setting_text(role_file, 'connection_limit', usable)}")
    return Fix(f"{setting_text(role_file, 'connection_limit', limit.value)}: {limit.why}",
               _token_edit(limit_value, limit.value))


def per_replica(pooler: Pooler | None) -> int:
    replicas = pooler.replicas if pooler is not None else None
    return replicas.value if replicas is not None and replicas.known and replicas.value else 1


def _processes(pooler: PgBouncer | None) -> int:
    processes = pooler.processes if pooler is not None else None
    return processes.value if processes is not None and processes.known and processes.value \
        else 1


def _operator_setting(pooler: PgBouncer, key: str, value: int | str) -> str | None:
    """The field of an operator's resource (or the server parameter of a database service)
    that writes PgBouncer's `key`."""
    if pooler.parameter is not None:
        return pooler.parameter(key, str(value)) if key in pooler.settable else None
    if pooler.dialect == "cnpg":
        return f'spec.pgbouncer.parameters: {{{key}: "{value}"}}'
    if pooler.dialect == "crunchy":
        return f'spec.proxy.pgBouncer.config.global: {{{key}: "{value}"}}'
    if pooler.dialect == "zalando":
        field = {"max_db_connections": "maxDBConnections", "pool_mode": "mode"}.get(key)
        return f"spec.connectionPooler.{field}: {value}" if field else None
    return None


def _setting_edit(current: Setting, value: int | str) -> Pending:
    """A PgBouncer setting's value rewritten where it is written (its span when the reader
    recorded one)."""
    if current.column:
        return Pending(current.file, current.line, "", str(value), column=current.column,
                       end_column=current.end_column)
    return Pending(current.file, current.line, current.value, str(value))


def pgbouncer_setting(pooler: PgBouncer, key: str, value: int | str) -> Fix:
    """One [pgbouncer] setting in the pooler's own syntax: the operator's field, the
    container's environment variable, or the ini line (replacing the line that sets it, or
    after the first setting of [pgbouncer])."""
    config = pooler.config
    current = config.settings.get(key) if config is not None else None
    operator = _operator_setting(pooler, key, value)
    if operator is not None:
        # the field's own line, where the resource sets it
        if current is not None and current.line and current.value and not current.unknown:
            return Fix(operator, (_setting_edit(current, value),))
        if pooler.parameter is not None and pooler.where.file.endswith(".tf"):
            # a server parameter not set yet: its resource, added to the server's file
            return Fix(operator, (Edit(pooler.where.file, 0, "", "\n" + operator),))
        return Fix(operator)
    if config is None:
        return Fix(f"{key} = {value}")
    if config.env_names or not config.files:
        prefix = "PGBOUNCER_" if any(n.startswith("PGBOUNCER_")
                                     for n in config.env_names.values()) else ""
        name = config.env_names.get(key, prefix + key.upper())
        text = env_line(pooler.env_style, name, value)
        if current is not None and current.line and current.value and not current.unknown:
            return Fix(text, (_setting_edit(current, value),))
        # beside the variables the container sets (a mapping; a list is left to the reader)
        set_lines = [config.settings[k] for k in config.env_names if config.settings[k].line]
        anchor = min(set_lines, key=lambda found: found.line, default=None) \
            if pooler.env_style == "yaml-map" else None
        return Fix(text, (Pending(anchor.file, anchor.line, "", text),) if anchor else ())
    if current is not None and current.line and current.value and not current.unknown:
        return Fix(f"[pgbouncer]\n{key} = {value}",
                   (_setting_edit(current, value),))
    first = min((s for s in config.settings.values() if s.line and s.file == config.files[0]),
                key=lambda s: s.line, default=None)
    edits = (Pending(first.file, first.line, "", f"{key} = {value}"),) if first else ()
    return Fix(f"[pgbouncer]\n{key} = {value}", edits)


def pgbouncer_cap(pooler: PgBouncer, total: Sized, clients: int) -> Fix:
    """max_db_connections that bring the pooler's server connections to at most `total`:
    PgBouncer caps EACH of its databases (every alias of one server database on its own) in
    EACH process, so the total is shared out over the databases, the processes and as many
    replicas as run at once during its own rolling deploy."""
    if pooler.parameter is not None and "max_db_connections" not in pooler.settable:
        return _pool_size_cap(pooler, total)
    if pooler.dialect == "zalando":
        # the Zalando operator shares maxDBConnections out over the pooler's instances itself
        return Fix(f"{_operator_setting(pooler, 'max_db_connections', total.value)}\n"
                   f"(maxDBConnections = {total.value}: {total.why})",
                   _zalando_edit(pooler, total.value))
    replicas = per_replica(pooler)
    deploy = pooler.deploy_replicas
    running = max(replicas, deploy.value or 0) if deploy is not None and deploy.known \
        else replicas
    processes = _processes(pooler)
    names = pooler.database_names
    shares = running * processes * max(len(names), 1)
    per = max(total.value // shares, 1)
    parts = [f"{len(names)} databases" if len(names) > 1 else "",
             f"{processes} processes" if processes > 1 else "",
             (f"{running} replicas during a rolling deploy" if running > replicas
              else f"{replicas} replicas" if replicas > 1 else "")]
    shared = " x ".join(p for p in parts if p)
    why = (f"{total.value} ({total.why}) shared by {shared}" if shared
           else f"{total.value}: {total.why}")
    cap = pgbouncer_setting(pooler, "max_db_connections", per)
    fixes = [Fix(f"{cap.text}\n(max_db_connections = {per}: {why})", cap.edits)]
    own = [n for n in names if pooler.config is not None and n in pooler.config.databases
           and "max_db_connections" in pooler.config.databases[n].params]
    if own:
        fixes.append(Fix(f"and in [databases] set max_db_connections={per} on "
                         f"{', '.join(own)}, which set their own"))
    if clients:
        client_conn = math.ceil(clients / (replicas * processes))
        over = " x ".join(p for p in (f"{replicas} replicas" if replicas > 1 else "",
                                      f"{processes} processes" if processes > 1 else "") if p)
        fixes.append(Fix(f"(max_client_conn >= {client_conn}: the {clients} client connections "
                         f"behind it{' over ' + over if over else ''})"))
    return Fix("\n".join(f.text for f in fixes), cap.edits)


def _pool_size_cap(pooler: PgBouncer, total: Sized) -> Fix:
    """A PgBouncer whose service lets no max_db_connections be set: the default_pool_size that
    brings its pools (one per database and user) to at most `total`."""
    config = pooler.config
    size = config.default_pool_size().value if config is not None else None
    server = pooler.server_connections
    if not size or server is None or not server.known or not server.value:
        return Fix(f"lower its default_pool_size (at most {total.value} connections: "
                   f"{total.why})")
    pools = max(server.value // size, 1)
    per = max(total.value // pools, 1)
    found = pgbouncer_setting(pooler, "default_pool_size", per)
    return Fix(f"{found.text}\n(default_pool_size = {per}: {pools} pools x {per} = "
               f"{pools * per} within {total.value}, {total.why})", found.edits)


def deploy_tasks(client: Client, tasks: int) -> int:
    """Units running during a rolling deploy once the client is capped at `tasks`: a percent
    (ECS) or a doubling (App Runner) scales with the cap; extra units (Kubernetes maxSurge)
    never grow as it shrinks."""
    top, during = client.scale.value or 1, client.deploy.value or 0
    if client_platform(client.platform).surge in _SCALING:
        return math.ceil(tasks * during / top)
    return tasks + max(during - top, 0)


# the surges that grow with the cap: a percentage of the units, their double, a second
# revision of them
_SCALING = ("percent", "double", "revision")


def _deploy_words(client: Client, during: int) -> str:
    top = client.scale.value or 1
    surge = client_platform(client.platform).surge
    if surge == "revision":
        return (f"{during} {units(client)} run while a new revision starts beside the old one "
                f"({client.deploy_setting})")
    if surge == "percent":
        return (f"{during} {units(client)} run during a rolling deploy at "
                f"{client.deploy_setting} {(client.deploy.value or 0) * 100 // top}")
    if surge == "double":
        return f"{during} {units(client)} run during a deployment, which doubles them"
    return f"{during} {units(client)} run during a rolling update with its maxSurge"


def _scale_key(client: Client) -> str:
    last = client.scale_setting.rsplit(" ", 1)[-1]
    return last if last.startswith('"') else last.rsplit(".", 1)[-1]  # a quoted map key whole


def client_fixes(client: Client, room: Sized, deploy_room: int | None) -> list[Fix]:
    """The largest pool and task count that keep the steady state within `room` and, when the
    deploy is known, the rolling deploy within `deploy_room` (else the fix would be a CB108).
    The pool comes first: its edit is the one applied, since a cap on the task count may sit
    below a min_capacity or desired_count the edit would leave as they are."""
    processes = client.processes.value or 1
    per_task = processes * (client.pool.value or 1)
    tasks = room.value // per_task
    deploy_known = deploy_room is not None and client.deploy.known
    if deploy_known:
        assert deploy_room is not None
        while tasks > 0 and deploy_tasks(client, tasks) * per_task > deploy_room:
            tasks -= 1
    fixes: list[Fix] = []
    unit = units(client)
    top = client.scale.value or 1
    pool = room.value // (top * processes)
    if deploy_known:
        assert deploy_room is not None
        pool = min(pool, deploy_room // ((client.deploy.value or 1) * processes))
    if pool >= 1 and not client.pool_setting:  # no setting to name: the library is not known
        fixes.append(Fix(
            f"or size the pool of {client.where.address} to {pool}: {top} {unit} x {processes} "
            f"process{'es' if processes != 1 else ''} x {pool} = {top * processes * pool} within "
            f"{room.value}, {room.why} ({UNKNOWN_LIBRARY})"))
    elif pool >= 1:
        written = client.pool_written
        setting = written_text(written, pool) if written is not None \
            else env_line(client.env_style, client.pool_setting, pool)
        edit = written_edit(written, pool) if written is not None else None
        fixes.append(Fix(
            f"or set {client.pool_setting} = {pool} in {client.where.address}: "
            f"{top} {unit} x {processes} process{'es' if processes != 1 else ''} x {pool} = "
            f"{top * processes * pool} within {room.value}, {room.why}\n"
            + "\n".join("  " + line for line in setting.splitlines()),
            (edit,) if edit is not None else () if written is not None
            else _token_edit(client.pool, pool, client.pool_setting)))
    if tasks >= 1:
        during = deploy_tasks(client, tasks) if deploy_known else tasks
        file = client.scale.origin.file or client.where.file
        key = _scale_key(client)
        # a plan shows a Terraform client in JSON, but the .tf is what changes
        capped = tasks * client.per_unit
        scale = f"{key} = {capped}" if client.env_style.startswith("hcl") \
            else setting_text(file, key, capped)
        fixes.append(Fix(
            f"or cap {client.where.address} at {tasks} {unit}: {scale} ({client.scale_setting}); "
            f"{tasks} x {per_task} per {unit[:-1]} = {tasks * per_task} within {room.value}, "
            f"{room.why}"
            + (f"; {_deploy_words(client, during)} ({during * per_task} connections), "
               f"within {deploy_room} usable" if during > tasks else ""),
            _token_edit(client.scale, capped)))
    return fixes


def budget_fixes(budget: Budget, worst: int, target: Sized) -> Fix:
    """Ways to bring `worst` (steady) down to `target`, for the largest path, without pushing a
    rolling deploy over the usable slots."""
    paths = [p for p in budget.paths if p.steady.known]
    if not paths:
        return Fix("")
    largest = max(paths, key=lambda p: (p.steady.value or 0, p.name))
    others = worst - (largest.steady.value or 0)
    room = Sized(target.value - others, target.why + (f" less {others} of the other paths"
                                                      if others else ""))
    fixes: list[Fix] = []
    if largest.client is not None:
        client = largest.client
        demand = sum(p.steady.value or 0 for p in paths if p.client is not None)
        pooled = max(target.value - (worst - demand), 1)
        fixes.append(Fix(f"put PgBouncer in front (pool_mode = transaction, max_db_connections "
                         f"= {pooled}: {target.why}"
                         + (f" less {worst - demand} of the poolers" if worst > demand else "")
                         + ")"))
        deploy_room = None
        if budget.deploy is not None and budget.usable is not None and largest.deploy.known:
            deploy_room = budget.usable - (budget.deploy - (largest.deploy.value or 0))
        fixes.extend(client_fixes(client, room, deploy_room))
    elif isinstance(largest.pooler, PgBouncer):
        fixes.append(pgbouncer_cap(largest.pooler, room, 0))
    elif isinstance(largest.pooler, PercentProxy) and budget.max_connections.value:
        percent = max(room.value * 100 // budget.max_connections.value, 1)
        fixes.append(_proxy_percent(largest.pooler, largest.name, percent,
                                    f"{percent} % of max_connections "
                                    f"{budget.max_connections.value} is within {room.value}, "
                                    f"{room.why}"))
    return join(fixes)


def _proxy_percent(pooler: PercentProxy, name: str, percent: int, why: str) -> Fix:
    """RDS Proxy's max_connections_percent: the value where it is written, else added to the
    default target group (in its connection_pool_config block, or as that block)."""
    proxy = pooler.percent
    edits = _token_edit(proxy, percent) if proxy is not None else ()
    block = pooler.percent_block
    if not edits and block is not None and block.file and _hcl(block.file):
        setting = f"max_connections_percent = {percent}"
        added = setting if pooler.percent_block_open \
            else f"connection_pool_config {{\n  {setting}\n}}"
        edits = (Pending(block.file, block.line, "", added),)
        return Fix(f"set {setting} in {block.text}"
                   + ("" if pooler.percent_block_open else "'s connection_pool_config")
                   + f" ({name}): {why}", edits)
    return Fix(f"set max_connections_percent = {percent} on {name}: {why}", edits)


def _pooler_deploy_fix(path: Path, deploy: int, usable: int) -> Fix | None:
    """A PgBouncer whose own rollout runs extra replicas: the surge that still fits."""
    pooler = path.pooler
    if not isinstance(pooler, PgBouncer) or path.deploy.value is None \
            or path.deploy.value == path.steady.value:
        return None
    replicas = per_replica(pooler)
    per = (path.steady.value or 0) // replicas
    room = usable - (deploy - path.deploy.value)
    extra = max(0, room // per - replicas) if per else 0
    if pooler.dialect == "zalando" and per:
        # the operator runs its pooler's rollout: what each instance may open is the lever
        pods = path.deploy.value // per
        each = room // pods
        return Fix(f"{_operator_setting(pooler, 'max_db_connections', each * replicas)}\n"
                   f"(maxDBConnections = {each * replicas}: {each} per instance x {pods} pods "
                   f"during the operator's rolling update = {each * pods} within the {room} "
                   "usable slots the other paths leave)", _zalando_edit(pooler, each * replicas))
    why = f"{replicas + extra} replicas x {per} = {(replicas + extra) * per} within {room} usable"
    if pooler.deploy_setting.endswith(("maxSurge", "max_surge")):
        return Fix(f"set {pooler.deploy_setting}: {extra} on {pooler.where.address}"
                   + (" (and maxUnavailable: 1)" if extra == 0 else "") + f": {why}")
    return Fix(f"set {pooler.deploy_setting or 'deployment_maximum_percent'} = "
               f"{100 + extra * 100 // replicas} on {pooler.where.address}: {why}")


def _inserted(insert: Insert, value: int | str) -> Pending:
    """The setting written where it goes: YAML keys nested two columns apart, or HCL's
    `key = value`."""
    if not insert.yaml:
        return Pending(insert.file, insert.after, "", f"{insert.keys[0]} = {value}",
                       indent=insert.indent)
    lines = [f"{'  ' * depth}{key}:" for depth, key in enumerate(insert.keys[:-1])]
    lines.append(f"{'  ' * (len(insert.keys) - 1)}{insert.keys[-1]}: {value}")
    return Pending(insert.file, insert.after, "", "\n".join(lines), indent=insert.indent)


def _deploy_edits(client: Client, value: int) -> tuple[Edit, ...]:
    """The setting that widens the client's rolling deploy, at its value's span, or written
    where it goes when the files do not set it."""
    written = at_span(client.deploy_at, str(value)) if client.deploy_at is not None else None
    if written is not None:
        return (written,)
    if client.deploy_insert is not None:
        return (_inserted(client.deploy_insert, value),)
    return ()


def _zalando_edit(pooler: PgBouncer, value: int) -> tuple[Edit, ...]:
    """maxDBConnections where the manifest writes it, else added to its connectionPooler."""
    config = pooler.config
    current = config.settings.get("max_db_connections") if config is not None else None
    written = pooler.server_connections.origin if pooler.server_connections else None
    if current is None and written is not None and written.column:
        found = at_span(written, str(value))
        return (found,) if found is not None else ()
    if pooler.cap_insert is not None:
        return (_inserted(pooler.cap_insert, value),)
    return ()


def deploy_fixes(budget: Budget, deploy: int, usable: int) -> Fix:
    fixes: list[Fix] = []
    for path in budget.paths:
        pooler_fix = _pooler_deploy_fix(path, deploy, usable)
        if pooler_fix is not None:
            fixes.append(pooler_fix)
        client = path.client
        if client is None or not client.deploy.known or not client.scale.value:
            continue
        if client.deploy.value == client.scale.value:
            continue
        per_task = (client.processes.value or 1) * (client.pool.value or 1)
        room = usable - (deploy - (path.deploy.value or 0))
        tasks = room // per_task
        why = (f"{tasks} {units(client)} x {per_task} = {tasks * per_task} at most during a "
               f"deploy, within {room} of the {usable} usable slots")
        surge = client_platform(client.platform).surge
        if surge == "double":
            # nothing narrows the doubling: the lever is the most units it doubles
            top = room // (per_task * 2)
            fixes.append(Fix(f"cap {client.where.address} at {top} {units(client, top)}: "
                             f"{_scale_key(client)} = {top}; doubled during a deployment, "
                             f"{2 * top} x {per_task} = {2 * top * per_task} within {room} of "
                             f"the {usable} usable slots", _token_edit(client.scale, top)))
        elif surge == "revision":
            cap = max(tasks * client.scale.value // (client.deploy.value or 1), 1)
            file = client.scale.origin.file or client.where.file
            fixes.append(Fix(f"cap {client.where.address} at {cap} {units(client)}: "
                             f"{setting_text(file, _scale_key(client), cap)} "
                             f"({client.scale_setting}); {why}", _token_edit(client.scale, cap)))
        elif surge == "percent":
            pct = max(100, tasks * 100 // client.scale.value)
            fixes.append(Fix(f"set {client.deploy_setting} = {pct} on "
                             f"{client.where.address}: {why}",
                             _deploy_edits(client, pct)))
        else:
            extra = max(0, tasks - client.scale.value)
            fixes.append(Fix(f"set {client.deploy_setting}: {extra} on "
                             f"{client.where.address}"
                             + (" (keep maxUnavailable above 0: Kubernetes refuses both 0)"
                                if extra == 0 else "") + f": {why}",
                             _deploy_edits(client, extra)))
    return join(fixes)
