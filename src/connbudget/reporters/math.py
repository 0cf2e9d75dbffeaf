"""THE CONNECTION MATH: one database's budget drawn the way an engineer would on a whiteboard."""

from __future__ import annotations

from typing import Any

from connbudget.capacity.budget import percent
from connbudget.catalogue import RULES

_WIDTH = 52


def _n(value: Any) -> str:
    return "?" if value is None else str(value)


def _unit(client: dict[str, Any]) -> str:
    return "pods" if client.get("kind") == "kubernetes" else "tasks"


def _path_line(client: dict[str, Any]) -> tuple[str, str]:
    if client["path"] == "direct":
        terms = [f"{_n(client['max_tasks'])} {_unit(client)}"]
        if client["processes"] != 1:
            terms.append(f"{_n(client['processes'])} processes")
        terms.append(f"{_n(client['pool'])} pool")
        return f"{client['client']}   {' x '.join(terms)}", _n(client["steady"])
    label = f"{client['client']}   {client['path']}"
    if client.get("pool_mode"):
        label += f" ({client['pool_mode']} mode)"
    return label + " server connections", _n(client["steady"])


def _row(label: str, sign: str, number: str) -> str:
    return f"  {label:<{_WIDTH}} {sign} {number:>4}"


def _verdict(budget: dict[str, Any]) -> str:
    worst, usable = budget["worst_case"], budget["usable"]
    rule = budget["verdict"]["rule_id"]
    tag = f"{rule} {RULES[rule].severity}" if rule else "ok"
    if budget.get("unlimited"):
        text = f"worst case unbounded (a client has no pool limit) vs usable {_n(usable)}"
    elif worst is None or usable is None:
        text = f"worst case {_n(worst)} vs usable {_n(usable)}: unknown, see CB103"
    else:
        sign = ">" if worst > usable else "<="
        text = f"worst case {worst} {sign} usable {usable} ({percent(worst, usable)} %)" \
            if usable > 0 else f"worst case {worst}, no usable slots"
    return f"  {text:<{_WIDTH + 6}}{tag}"


def _deploy_line(budget: dict[str, Any]) -> list[str]:
    deploy, usable = budget["worst_case_deploy"], budget["usable"]
    if deploy is None or deploy == budget["worst_case"]:
        return []
    parts = [f"{c['client']} {_n(c.get('deploy_tasks'))} {_unit(c)}" for c in budget["clients"]
             if c["path"] == "direct" and c.get("deploy_tasks") != c.get("max_tasks")]
    parts += [f"{c['client']} {_n(c['deploy'])} server connections" for c in budget["clients"]
              if c["path"] != "direct" and c["deploy"] != c["steady"]]
    share = f" ({percent(deploy, usable)} %)" if usable else ""
    return [f"  during a rolling deploy ({', '.join(parts)}): {deploy}{share}"]


def _sources(budget: dict[str, Any]) -> list[str]:
    lines = ["  where the numbers come from:",
             f"    max_connections {_n(budget['max_connections'])}: "
             f"{budget['max_connections_source']}",
             f"    reserved {_n(budget['reserved'])}: {budget['reserved_source']}"]
    for client in budget["clients"]:
        for key, source in client.get("sources", {}).items():
            value = source["value"]
            where = f" ({source['file']}:{source['line']})" if source.get("file") else ""
            lines.append(f"    {client['client']} {key.replace('_', ' ')} {_n(value)}: "
                         f"{source['source']}{where}")
        for inner in [client, *client.get("behind", [])]:
            if inner.get("matched_by"):
                lines.append(f"    {inner['client']} matched by {inner['matched_by']}")
            lines.extend(f"    {inner['client']}: {note}" for note in inner.get("notes", []))
    return lines


def render_budget(budget: dict[str, Any]) -> str:
    cls = budget.get("instance_class") or "instance class unknown"
    source = budget["max_connections_source"].split(" (")[0]
    origin = f" from {source}" if len(source) <= 80 else ""
    root = f" in {budget['root']}" if budget.get("root") else ""
    head = (f"THE CONNECTION MATH  {budget['database']}{root} ({cls}, max_connections "
            f"{_n(budget['max_connections'])}{origin})")
    lines = [head]
    for client in budget["clients"]:
        label, number = _path_line(client)
        lines.append(_row(label, "=", number))
        for behind in client.get("behind", []):
            terms = f"{_n(behind['max_tasks'])} {_unit(behind)} x {_n(behind['pool'])} pool"
            lines.append(f"    behind it: {behind['client']}   {terms} = {_n(behind['steady'])}"
                         " client connections")
    lines.append(_row("reserved for superusers", "-", _n(budget["reserved"])))
    lines.append(_row("usable", " ", _n(budget["usable"])))
    lines.append(_verdict(budget))
    lines.extend(_deploy_line(budget))
    for index, fix in enumerate(budget["verdict"]["fix"]):
        lines.append(f"  {'fix: ' if index == 0 else '     '}{fix}")
    lines.extend(_sources(budget))
    return "\n".join(lines) + "\n"
