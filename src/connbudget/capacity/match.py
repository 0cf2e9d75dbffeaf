"""Which database or pooler each client, and which database each pooler, talks to.

Order: explicit references (a resource address in an env value, a DSN host naming a database
or a pooler) first; then the [tool.connbudget] clients mapping; then, when the scope holds a
single database and no pooler, that database. Anything else is reported, never guessed.
"""

from __future__ import annotations

from connbudget.capacity.model import Model
from connbudget.report import Finding
from connbudget.settings import Settings


def _hit(ref: str, alias: str) -> bool:
    ref, alias = ref.lower(), alias.lower()
    if ref == alias or ref.startswith(alias + ".") or ref.startswith(alias + "["):
        return True
    # a host name such as "pgbouncer.internal" or "main.abc.rds.amazonaws.com"
    return "." not in alias and "_" not in alias and ref.split(".")[0] == alias


def _candidates(refs: set[str], targets: dict[str, set[str]]) -> list[str]:
    return sorted(address for address, aliases in targets.items()
                  if any(_hit(ref, alias) for ref in refs for alias in aliases))


def match(model: Model, settings: Settings) -> list[Finding]:
    notes: list[Finding] = []
    databases = {d.where.address: d.aliases | {d.where.address} for d in model.databases}
    poolers = {p.where.address: p.aliases | {p.where.address} for p in model.poolers}
    for pooler in model.poolers:
        found = _candidates(pooler.target_refs, databases)
        configured = settings.clients.get(pooler.where.address)
        if len(found) == 1:
            pooler.target = found[0]
        elif configured:
            pooler.target = configured
        elif len(databases) == 1:
            pooler.target = next(iter(databases))
        elif model.databases:
            notes.append(_unmatched(pooler.where.address, pooler.where.file, pooler.where.line,
                                    found or sorted(databases)))
    for client in model.clients:
        found = _candidates(client.refs, {**databases, **poolers})
        configured = settings.clients.get(client.where.address)
        if len(found) == 1:
            client.target = found[0]
        elif configured:
            client.target = configured
        elif not found and len(databases) == 1 and not poolers:
            client.target = next(iter(databases))
        elif model.databases or model.poolers:
            notes.append(_unmatched(client.where.address, client.where.file, client.where.line,
                                    found or sorted({**databases, **poolers})))
    return notes


def _unmatched(address: str, file: str, line: int, candidates: list[str]) -> Finding:
    return Finding(
        "CB103",
        f"cannot tell which database {address} connects to (candidates: "
        f"{', '.join(candidates)}); its connections are left out of every budget",
        file, line, address,
        fix=f'map it in the config: [tool.connbudget.clients] "{address}" = "{candidates[0]}"')
