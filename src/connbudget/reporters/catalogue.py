"""`connbudget rules`: the catalogue, or one rule's page, as text, JSON or Markdown."""

from __future__ import annotations

import json

from connbudget.catalogue import RULES, Rule
from connbudget.providers.registry import DATABASE_PLATFORMS
from connbudget.resources import rule_page

_ANY = {"roles": "any PostgreSQL (role statements)", "server": "any PostgreSQL (a running server)",
        "inputs": "any (the inputs of a run)", "comments": "any (the ignore comments)"}


def platforms(rule: Rule) -> list[str]:
    """The database platforms a rule covers, by their registry names (or what it covers when
    that is no platform): every platform's budget, or those whose connection alarms it reads."""
    if rule.covers in _ANY:
        return [_ANY[rule.covers]]
    return [p.name for p in DATABASE_PLATFORMS.values() if p.name != "unknown"
            and (rule.covers != "alarms" or p.alarms)]


def platform_line(rule: Rule) -> str:
    """The line of a rule's page that names its platforms."""
    if rule.covers in _ANY:
        return f"Platforms: {_ANY[rule.covers]}"
    return "Platforms: " + ", ".join(
        DATABASE_PLATFORMS[name].label for name in platforms(rule))


def _as_json(rule: Rule) -> dict[str, object]:
    return {"id": rule.id, "severity": rule.severity, "title": rule.title,
            "checkov_id": rule.checkov_id, "engines": list(rule.engines), "help_uri": rule.help_uri,
            "platforms": platforms(rule)}


def render_catalogue(fmt: str) -> str:
    rules = list(RULES.values())
    if fmt == "json":
        return json.dumps([_as_json(r) for r in rules], indent=2) + "\n"
    if fmt == "markdown":
        rows = ["| id | severity | rule | Checkov | platforms |", "|---|---|---|---|---|"]
        rows += [f"| [{r.id}]({r.doc_path}) | {r.severity} | {r.title} | {r.checkov_id or '-'} "
                 f"| {', '.join(platforms(r))} |" for r in rules]
        return "\n".join(rows) + "\n"
    width = max(len(r.severity) for r in rules)
    return "".join(f"{r.id}  {r.severity:<{width}}  {r.title}\n"
                   f"{'':{width + 9}}platforms: {', '.join(platforms(r))}\n" for r in rules)


def _lookup(name: str) -> Rule | None:
    wanted = name.strip().upper()
    for rule in RULES.values():
        if wanted in (rule.id, rule.checkov_id):
            return rule
    return None


def render_rule(name: str, fmt: str) -> str | None:
    """One rule's page (`CB101` or `CKV_CB_001`); None for a name the catalogue lacks."""
    rule = _lookup(name)
    if rule is None:
        return None
    page = rule_page(rule.id) or f"# {rule.id}: {rule.title}\n\nSeverity: {rule.severity}\n"
    if fmt == "json":
        return json.dumps({**_as_json(rule), "page": page}, indent=2) + "\n"
    return page if page.endswith("\n") else page + "\n"
