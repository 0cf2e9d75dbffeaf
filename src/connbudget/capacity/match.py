"""Which database or pooler each client, and which database each pooler, talks to.

Order: explicit references (a resource address in an env value, a DSN host naming a database
or a pooler, an endpoint of a platform's form: `providers.registry.ENDPOINTS`) first; then the
[tool.connbudget] clients mapping; then, when the scope holds a single database and no pooler,
that database. Anything else is reported, never guessed.

Scope: each Terraform root module is its own configuration. A thing in root R sees the
databases and poolers of R and those that belong to no root; a thing in no root sees all. An
ini or YAML file belongs to the nearest Terraform root directory that encloses it (so a
`pgbouncer.ini` beside `main.tf` is part of that root), else to none. The "single database"
rule looks at the nearest scope that holds any database: the thing's root (with the poolers of
that root), else the whole run (with every pooler). A Kubernetes autoscaler or Service
applies only to workloads of the same root (from_kubernetes).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from connbudget.model import Client, Database, Key, Location, Model, Pooler, Role, refers_to
from connbudget.providers.context import enclosing_root
from connbudget.providers.registry import endpoint_refs
from connbudget.settings import Settings

# a Terraform address (`module.x`, `<provider>_<type>.<name>`), not a host name
_ADDRESS = re.compile(r"^(?:module\.|[a-z][a-z0-9]*_[a-z0-9_]*\.)")


@dataclass(frozen=True)
class Unmatched:
    """A client or pooler whose database cannot be told: the candidates in its scope, and the
    hosts it names that no scanned database or pooler answers to."""

    where: Location
    candidates: tuple[str, ...]  # labels
    first: str  # the address of the first candidate, for the mapping a fix suggests
    named: tuple[str, ...]


def place(model: Model, roots: list[str]) -> None:
    """Give ini and YAML things their enclosing root; name roots when the run holds several."""
    show = len(set(roots)) > 1

    def placed(where: Location) -> Location:
        root = where.root or (enclosing_root(where.file, roots) if where.file else "")
        return replace(where, root=root, show_root=show)

    things: list[Database | Role | Pooler | Client] = [
        *model.databases, *model.roles, *model.poolers, *model.clients]
    for thing in things:
        thing.where = placed(thing.where)


def _hit(ref: str, alias: str) -> bool:
    if refers_to(ref, alias):
        return True
    # a host name such as "pgbouncer.internal" or "main.abc.rds.amazonaws.com"
    return "." not in alias and "_" not in alias and ref.split(".")[0].lower() == alias.lower()


def _visible(root: str, targets: dict[Key, set[str]]) -> dict[Key, set[str]]:
    """Targets in the same root first; those in no root; for a thing in no root, all."""
    if not root:
        return targets
    return {key: aliases for key, aliases in targets.items() if key[0] in (root, "")}


def _nearest(root: str, keys: list[Key]) -> list[Key]:
    same = [key for key in keys if key[0] == root]
    return same or keys


def _candidates(refs: set[str], targets: dict[Key, set[str]]) -> list[Key]:
    return sorted(key for key, aliases in targets.items()
                  if any(_hit(ref, alias) for ref in refs for alias in aliases))


def _explicit(refs: set[str], aliases: set[str]) -> str:
    hits = sorted({ref for ref in refs for alias in aliases if _hit(ref, alias)})
    return f"explicit reference: {', '.join(hits)}"


def _configured(address: str, root: str, targets: dict[Key, set[str]],
                settings: Settings) -> list[Key]:
    wanted = settings.clients.get(address)
    if not wanted:
        return []
    return _nearest(root, sorted(key for key in targets if key[1] == wanted))


def _single(root: str, databases: dict[Key, set[str]],
            poolers: dict[Key, set[str]]) -> tuple[list[Key], list[Key]]:
    """Databases and poolers of the nearest scope that holds a database: the root, else all."""
    own = [key for key in databases if root and key[0] == root]
    if own:
        return own, [key for key in poolers if key[0] == root]
    return sorted(databases), sorted(poolers)


def _stated(refs: set[str]) -> bool:
    """A host name or data source the files name: when it matches nothing, that is reported,
    never replaced by the single database in scope."""
    return any(ref.startswith("data.") or not _ADDRESS.match(ref) for ref in refs)


def _where(key: Key) -> str:
    return f"in {key[0]}" if key[0] else "in this run"


def _connect(thing: Pooler | Client, refs: set[str], databases: dict[Key, set[str]],
             poolers: dict[Key, set[str]], settings: Settings,
             labels: dict[Key, str]) -> Unmatched | None:
    """Set the target of a pooler (`poolers` empty: it talks to databases only) or a client;
    what is known of it when none can be told."""
    where = thing.where
    if thing.target is not None:  # joined across roots (capacity.roots)
        return None
    seen = _visible(where.root, {**databases, **poolers})
    found = _nearest(where.root, _candidates(refs, seen))
    # the mapping may name a database in a sibling root: the nearest root first
    configured = _configured(where.address, where.root, {**databases, **poolers}, settings)
    single, in_scope = _single(where.root, databases, poolers)
    if len(found) == 1:
        thing.target, thing.matched_by = found[0], _explicit(refs, seen[found[0]])
    elif len(configured) == 1:
        thing.target, thing.matched_by = configured[0], "[tool.connbudget.clients] mapping"
    elif not found and len(single) == 1 and not in_scope and not _stated(refs):
        thing.target = single[0]
        thing.matched_by = f"the single database {_where(single[0])}"
    else:
        named = sorted(ref for ref in refs if _stated({ref})) if not found else []
        return _unmatched(where, sorted(found or configured or seen), labels, named)
    return None


def match(model: Model, settings: Settings) -> list[Unmatched]:
    labels = {d.where.key: d.where.label for d in model.databases}
    labels.update((p.where.key, p.where.label) for p in model.poolers)
    databases = {d.where.key: d.aliases | {d.where.address} for d in model.databases}
    poolers = {p.where.key: p.aliases | {p.where.address} for p in model.poolers}
    notes = [_connect(pooler, endpoint_refs(pooler.target_refs), databases, {}, settings, labels)
             for pooler in model.poolers]
    notes += [_connect(client, endpoint_refs(client.refs), databases, poolers, settings, labels)
              for client in model.clients]
    return [note for note in notes if note is not None]


def _unmatched(where: Location, candidates: list[Key], labels: dict[Key, str],
               named: list[str] | None = None) -> Unmatched:
    return Unmatched(where, tuple(labels[key] for key in candidates),
                     candidates[0][1] if candidates else "", tuple(named or ()))
