"""THE CONNECTION MATH: one database's budget drawn the way an engineer would on a whiteboard,
then one list of where each number comes from, every file named relative to the working
directory, the database's own file only once."""

from __future__ import annotations

from connbudget.budgets import Behind, BudgetView, ClientView, Sourced
from connbudget.capacity.budget import percent
from connbudget.capacity.coverage import INCOMPLETE
from connbudget.catalogue import RULES
from connbudget.reporters._common import fix_lines, plural, relative_path, wrap

_NUMBER = 6  # "=  380"
# what a verdict that fits the slots does not say by itself
_BESIDES = {
    "CB104": "but a pooler overflows a limit",
    "CB105": "but a pooler turns clients away",
    "CB106": "but a pooler does not multiplex",
    "CB107": "but a role's limit is too low",
    "CB108": "but not during a rolling deploy",
}
_LABELS = 56  # the widest label column: a longer label continues on the next line


def _n(value: object) -> str:
    return "?" if value is None else str(value)


def _unit(client: ClientView | Behind, count: int | None = 2) -> str:
    """What the client's platform scales: "tasks", "pods", one "task"."""
    return client.unit[:-1] if count == 1 and client.unit.endswith("s") else client.unit


def _show(name: str) -> str:
    """A client's name; one that is a file (a pgbouncer.ini) relative to the working directory."""
    return relative_path(name) if "/" in name and "." in name.rsplit("/", 1)[-1] else name


def _path_label(client: ClientView) -> str:
    if client.direct:
        tasks = client.max_tasks
        terms = [f"{_n(tasks)} {_unit(client, tasks)}"]
        if client.processes != 1:
            terms.append(f"{_n(client.processes)} processes")
        terms.append(f"{_n(client.pool)} pool")
        return f"{_show(client.client)}   {' x '.join(terms)}"
    mode = f" ({client.pool_mode} mode)" if client.pool_mode else ""
    return f"{_show(client.client)}   {client.path}{mode} server connections"


def _rows(rows: list[tuple[str, str, str]], width: int) -> list[list[str]]:
    """Labels in one column, numbers right-aligned after them; a label too long for the
    column continues on the next lines, the number on its last one."""
    column = min(max(len(label) for label, _, _ in rows), _LABELS, width - 2 - _NUMBER - 1)
    drawn = []
    for label, sign, number in rows:
        parts = wrap(label, column, 4) if len(label) > column else [label]
        drawn.append([*(f"  {part}" for part in parts[:-1]),
                      f"  {parts[-1]:<{column}} {sign} {number:>4}"])
    return drawn


def _besides(budget: BudgetView) -> str:
    rule = budget.verdict.rule_id
    return f", {_BESIDES[rule]}" if rule in _BESIDES else ""


def _verdict_text(budget: BudgetView) -> str:
    worst, usable = budget.worst_case, budget.usable
    case = "worst case of what was read" if budget.incomplete else "worst case"
    if budget.incomplete and not budget.clients:
        return f"no client read, usable {_n(usable)}"
    if budget.unlimited:
        return f"{case} unbounded (a client has no pool limit) vs usable {_n(usable)}"
    if worst is None or usable is None:
        return f"{case} {_n(worst)} vs usable {_n(usable)}: unknown"
    if usable <= 0:
        return f"{case} {worst}, no usable slots"
    sign = ">" if worst > usable else "<="
    return f"{case} {worst} {sign} usable {usable} ({percent(worst, usable)} %)" \
        + ("" if worst > usable else _besides(budget))


def tag(budget: BudgetView) -> str:
    """The verdict in a word: `CB101 error`, `incomplete`, `unknown` or `ok`."""
    rule = budget.verdict.rule_id
    if rule == INCOMPLETE or (not rule and budget.incomplete):
        return "incomplete"
    if rule:
        return f"{rule} {RULES[rule].severity}"
    known = budget.worst_case is not None and budget.usable is not None
    return "ok" if known and not budget.unlimited else "unknown"


def coverage_line(budget: BudgetView) -> str:
    """What the budget counts and what may touch it unread: `coverage: 3 clients read; not
    read: aws_lambda_function.api, module.jobs`."""
    coverage = budget.coverage
    if coverage is None:
        return ""
    read = [plural(coverage.clients, "client")]
    if coverage.poolers:
        read.append(plural(coverage.poolers, "pooler"))
    counted = f"{' and '.join(read)} read"
    if not coverage.unread:
        return f"coverage: {counted}" + ("" if coverage.complete else ": incomplete")
    return (f"coverage: {counted}; not read: "
            f"{', '.join(_show(item.what) for item in coverage.unread)}")


def _verdict(budget: BudgetView, column: int, width: int) -> list[str]:
    """The verdict, its tag after the numbers' column (or on a line of its own)."""
    text, tag_text = f"  {_verdict_text(budget)}", tag(budget)
    room = max(column, len(text) + 2)
    if room + len(tag_text) <= width:
        return [f"{text:<{room}}{tag_text}"]
    return [*wrap(text, width), f"  {tag_text}"]


def _deploy_line(budget: BudgetView) -> list[str]:
    deploy, usable = budget.worst_case_deploy, budget.usable
    if deploy is None or deploy == budget.worst_case:
        return []
    parts = [f"{c.client} {_n(c.deploy_tasks)} {_unit(c)}" for c in budget.clients
             if c.direct and c.deploy_tasks != c.max_tasks]
    parts += [f"{c.client} {_n(c.deploy)} server connections" for c in budget.clients
              if not c.direct and c.deploy != c.steady]
    share = f" ({percent(deploy, usable)} %)" if usable else ""
    return [f"  during a rolling deploy, {', '.join(parts)}: {deploy}{share}"]


def flat(text: str) -> str:
    """`text` with no parenthesis inside another: an inner `(x)` reads `, x`."""
    out: list[str] = []
    depth = 0
    for char in text:
        if char == "(":
            depth += 1
            if depth > 1:
                if out and out[-1] == " ":
                    out.pop()
                out.append(", ")
                continue
        elif char == ")" and depth > 0:
            depth -= 1
            if depth >= 1:
                continue
        out.append(char)
    return "".join(out)


def _place(source: Sourced, home: str, name: str) -> str:
    """Where a number is set: `line N` in the database's file, `its line N` in the file that
    is the client itself (a pgbouncer.ini), else `path:N`."""
    if not source.file:
        return ""
    path = relative_path(source.file)
    if path == home:
        return f", line {source.line}"
    if path == relative_path(name):
        return f", its line {source.line}"
    return f", {path}:{source.line}"


def _key_name(key: str, client: ClientView) -> str:
    names = {"max_tasks": f"max {_unit(client)}",
             "deploy_tasks": f"{_unit(client)} during a rolling deploy",
             "processes": f"processes per {_unit(client, 1)}",
             "pool": "pool per process"}
    return names.get(key, key.replace("_", " "))


def _source_line(name: str, source: Sourced, home: str, owner: str = "") -> str:
    text = source.source
    if owner and text.startswith(f"{owner}: "):
        text = text[len(owner) + 2:]
    return f"    {name} {_n(source.value)}: {flat(text)}{_place(source, home, owner)}"


def _budget_sources(budget: BudgetView, home: str) -> list[str]:
    return [_source_line("max_connections", budget.max_connections, home),
            _source_line("reserved", budget.reserved, home)]


def _matched(name: str, matched_by: str, notes: tuple[str, ...] = ()) -> list[str]:
    lines = [f"    {_show(name)} matched by {matched_by}"] if matched_by else []
    return lines + [f"    {_show(name)}: {flat(note)}" for note in notes]


def _sources(budget: BudgetView, home: str) -> list[str]:
    if home:
        lines = [f"  where the numbers come from (in {home} unless named):",
                 f"    {budget.database}: line {budget.line}"]
    else:
        lines = ["  where the numbers come from:"]
    lines.extend(_budget_sources(budget, home))
    for client in budget.clients:
        for key, source in client.sources.items():
            name = f"{_show(client.client)} {_key_name(key, client)}"
            lines.append(_source_line(name, source, home, client.client))
        lines.extend(_matched(client.client, client.matched_by, client.notes))
        for inner in client.behind:
            lines.extend(_matched(inner.client, inner.matched_by))
    return lines


def _head(budget: BudgetView) -> str:
    cls = budget.instance_class or "instance class unknown"
    root = f" in {relative_path(budget.root)}" if budget.root else ""
    source = budget.max_connections.source
    origin = f" from {source}" if len(source) <= _LABELS and "(" not in source else ""
    return (f"THE CONNECTION MATH  {budget.database}{root} ({cls}, max_connections "
            f"{_n(budget.max_connections.value)}{origin})")


def _behind(client: Behind) -> str:
    tasks = client.max_tasks
    return (f"    behind it: {_show(client.client)}   {_n(tasks)} {_unit(client, tasks)} x "
            f"{_n(client.pool)} pool = {_n(client.steady)} client connections")


def render_budget(budget: BudgetView, width: int = 100) -> str:
    home = relative_path(budget.file) if budget.file else ""
    rows = [(_path_label(client), "=", _n(client.steady)) for client in budget.clients]
    rows += [("reserved for superusers", "-", _n(budget.reserved.value)),
             ("usable", " ", _n(budget.usable))]
    lines = [_head(budget)]
    drawn = _rows(rows, width)
    behind = [client.behind for client in budget.clients]
    for row, inner in zip(drawn, [*behind, (), ()], strict=True):
        lines.extend(row)
        lines.extend(_behind(b) for b in inner)
    lines.extend(_verdict(budget, len(drawn[-1][-1]) + 2, width))
    lines.extend(_deploy_line(budget))
    coverage = coverage_line(budget)
    lines.extend([f"  {coverage}"] if coverage else [])
    wrapped = [part for line in lines for part in wrap(line, width)]
    fixes = fix_lines("\n".join(fix for fix in budget.verdict.fix if fix.strip()))
    for index, (fix, code) in enumerate(line for line in fixes if line[0].strip()):
        text = f"  {'fix: ' if index == 0 else '     '}{fix}"
        wrapped.extend([text] if code else wrap(text, width, 11))
    wrapped.extend(part for line in _sources(budget, home) for part in wrap(line, width))
    return "\n".join(wrapped) + "\n"
