"""`connbudget rules`: the catalogue as text, JSON or Markdown."""

from __future__ import annotations

import json

from connbudget.catalogue import RULES


def render_catalogue(fmt: str) -> str:
    rules = list(RULES.values())
    if fmt == "json":
        return json.dumps([{"id": r.id, "severity": r.severity, "title": r.title,
                            "checkov_id": r.checkov_id, "engines": list(r.engines),
                            "help_uri": r.help_uri} for r in rules], indent=2) + "\n"
    if fmt == "markdown":
        rows = ["| id | severity | rule | Checkov |", "|---|---|---|---|"]
        rows += [f"| [{r.id}]({r.doc_path}) | {r.severity} | {r.title} | {r.checkov_id or '-'} |"
                 for r in rules]
        return "\n".join(rows) + "\n"
    width = max(len(r.severity) for r in rules)
    return "".join(f"{r.id}  {r.severity:<{width}}  {r.title}\n" for r in rules)
