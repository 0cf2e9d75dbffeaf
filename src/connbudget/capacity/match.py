"""Which database or pooler each client, and which database each pooler, talks to.

Where it connects decides: the hosts and addresses of its connection settings (a URL's host, a
DSN's `host=`, PGHOST-style variables, a Terraform reference inside one of them), a host in a
platform's documented endpoint format (`providers.registry.ENDPOINTS`: an RDS endpoint's first
label is the identifier; `REF_ENDPOINTS`: a Cloud SQL connection name or socket, an Azure
server's host and, on PgBouncer's port, its built-in PgBouncer) or whose first label is a
database's name; then the [tool.connbudget] clients mapping; then network reachability (the only
database or pooler the client's firewall rules let it reach, from the providers' REACHABILITY
hook), also for a client whose host cannot be read; then, when the scope holds a single database
and no pooler and the thing names no host, that database. A thing whose host cannot be read (a
secret DATABASE_URL) is matched only by the mapping or its network. Anything else is a coverage
item of the databases in its scope (`model.Unread`), never guessed.

Scope: each Terraform root module is its own configuration. A thing in root R sees the
databases and poolers of R and those that belong to no root; a thing in no root sees all. An
ini or YAML file belongs to the nearest Terraform root directory that encloses it (so a
`pgbouncer.ini` beside `main.tf` is part of that root), else to none. The "single database"
rule looks at the nearest scope that holds any database: the thing's root (with the poolers of
that root), else the whole run (with every pooler). A Kubernetes autoscaler or Service
applies only to workloads of the same root (from_kubernetes).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, replace

from connbudget.model import (
    Client,
    Database,
    Key,
    Location,
    Model,
    Pooler,
    Role,
    Unread,
    refers_to,
)
from connbudget.providers.context import enclosing_root
from connbudget.providers.registry import SECRET_STORES, endpoint_names, endpoint_refs, reachable
from connbudget.settings import Settings, canonical

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
    # the databases it may connect to: its candidates', else every one in its scope
    databases: frozenset[Key] = frozenset()
    kind: str = "client"  # or "pooler"
    unknown_host: str = ""  # why the host it connects to cannot be read


def place(model: Model, roots: list[str]) -> None:
    """Give ini and YAML things (and things not read) their enclosing root; name roots when the
    run holds several."""
    show = len(set(roots)) > 1

    def placed(where: Location) -> Location:
        root = where.root or (enclosing_root(where.file, roots) if where.file else "")
        return replace(where, root=root, show_root=show)

    things: list[Database | Role | Pooler | Client] = [
        *model.databases, *model.roles, *model.poolers, *model.clients]
    for thing in things:
        thing.where = placed(thing.where)
    # a thing not read reaches the databases of the root that holds its file, like the others
    model.unread = [replace(item, root=enclosing_root(item.file, roots))
                    if item.file and not item.root else item for item in model.unread]


@functools.lru_cache(maxsize=4096)
def _endpoint(host: str) -> frozenset[str]:
    return frozenset(endpoint_names(host))


def _hit(ref: str, alias: str) -> bool:
    if refers_to(ref, alias):
        return True
    if "." in alias or "_" in alias:
        return False
    # an endpoint in a platform's documented format ("main.abc.eu-west-1.rds.amazonaws.com"),
    # else a host whose first label is the name ("pgbouncer.internal")
    return alias.lower() in (_endpoint(ref) or {ref.split(".")[0].lower()})


class _Targets:
    """What a pooler or client may connect to (databases, and poolers for a client), indexed
    by root: each of thousands of things asks for its own root's."""

    def __init__(self, databases: dict[Key, set[str]], poolers: dict[Key, set[str]]) -> None:
        self.databases, self.poolers = databases, poolers
        self.all = {**databases, **poolers}
        self._all = _by_root(self.all)
        self._databases = _by_root(databases)
        self._poolers = _by_root(poolers)

    def visible(self, root: str) -> dict[Key, set[str]]:
        """The targets in `root` and those in no root; for a thing in no root, all (in no
        particular order: every use sorts or collects)."""
        if not root:
            return self.all
        return {**self._all.get(root, {}), **self._all.get("", {})}

    def single(self, root: str) -> tuple[list[Key], list[Key]]:
        """Databases and poolers of the nearest scope that holds a database: the root, else
        all."""
        own = list(self._databases.get(root, {})) if root else []
        if own:
            return own, list(self._poolers.get(root, {}))
        return sorted(self.databases), sorted(self.poolers)


def _by_root(targets: dict[Key, set[str]]) -> dict[str, dict[Key, set[str]]]:
    found: dict[str, dict[Key, set[str]]] = {}
    for key, aliases in targets.items():
        found.setdefault(key[0], {})[key] = aliases
    return found


def _nearest(root: str, keys: list[Key]) -> list[Key]:
    same = [key for key in keys if key[0] == root]
    return same or keys


def _candidates(refs: set[str], targets: dict[Key, set[str]]) -> list[Key]:
    return sorted(key for key, aliases in targets.items()
                  if any(_hit(ref, alias) for ref in refs for alias in aliases))


def _explicit(refs: set[str], aliases: set[str]) -> str:
    hits = sorted({ref for ref in refs for alias in aliases if _hit(ref, alias)})
    formats = [f"{hit} (the endpoint of {', '.join(sorted(named))})" for hit in hits
               if (named := endpoint_names(hit))]
    return f"where it connects: {', '.join(formats or hits)}"


def _configured(address: str, root: str, targets: dict[Key, set[str]],
                settings: Settings) -> list[Key]:
    wanted = settings.client_target(address)
    if not wanted:
        return []
    return _nearest(root, sorted(key for key in targets if canonical(key[1]) == wanted))


def _stated(refs: set[str]) -> bool:
    """A host name or data source the files name: when it matches nothing, that is reported,
    never replaced by the single database in scope."""
    return any(ref.startswith("data.") or not _ADDRESS.match(ref) for ref in refs)


def _named_host(refs: set[str]) -> bool:
    """A stated host or lookup other than a secret (whose value is never read)."""
    return _stated({ref for ref in refs
                    if not (ref.startswith("data.") and ref.split(".")[1] in SECRET_STORES)})


def _where(key: Key) -> str:
    return f"in {key[0]}" if key[0] else "in this run"


def _connect(thing: Pooler | Client, refs: set[str], targets: _Targets, settings: Settings,
             labels: dict[Key, str], reached: dict[Key, str] | None = None) -> Unmatched | None:
    """Set the target of a pooler (`targets` without poolers: it talks to databases only) or a
    client; what is known of it when none can be told."""
    where = thing.where
    if thing.target is not None:  # joined across roots (capacity.roots)
        return None
    seen = targets.visible(where.root)
    found = _nearest(where.root, _candidates(refs, seen))
    # the mapping may name a database in a sibling root: the nearest root first
    configured = _configured(where.address, where.root, targets.all, settings)
    single, in_scope = targets.single(where.root)
    unknown_host = thing.unknown_host if isinstance(thing, Client) else ""
    network = sorted(key for key in reached or {} if key in seen)
    if len(found) == 1:
        thing.target, thing.matched_by = found[0], _explicit(refs, seen[found[0]])
    elif len(configured) == 1:
        thing.target, thing.matched_by = configured[0], "[tool.connbudget.clients] mapping"
    elif not found and len(network) == 1 and reached is not None and not _named_host(refs):
        thing.target = network[0]
        thing.matched_by = f"network reachability: {reached[network[0]]}"
    elif not found and len(single) == 1 and not in_scope and not _stated(refs) \
            and not unknown_host:
        thing.target = single[0]
        thing.matched_by = f"the single database {_where(single[0])}"
    else:
        named = sorted(ref for ref in refs if _stated({ref})) if not found else []
        return _unmatched(thing, sorted(found or configured or network or seen), labels,
                          named)
    return None


def _databases_of(item: Unmatched, poolers: dict[Key, Pooler],
                  behind: _Targets) -> frozenset[Key]:
    """The databases behind what it may connect to: a database itself, a pooler's once that is
    matched (every database in its scope when it is not)."""
    found: set[Key] = set()
    for key in item.databases:
        if key in behind.databases:
            found.add(key)
        elif key in poolers:
            target = poolers[key].target
            found |= {target} if target is not None else set(behind.visible(item.where.root))
    return frozenset(found)


def match(model: Model, settings: Settings) -> None:
    """Match every pooler, then every client; each that cannot be matched is a coverage item of
    the databases it may reach (`model.unread`)."""
    labels = {d.where.key: d.where.label for d in model.databases}
    labels.update((p.where.key, p.where.label) for p in model.poolers)
    databases = {d.where.key: d.aliases | {d.where.address} for d in model.databases}
    poolers = {p.where.key: p.aliases | {p.where.address} for p in model.poolers}
    behind = _Targets(databases, {})
    notes = [_connect(pooler, endpoint_refs(pooler.target_refs), behind, settings, labels)
             for pooler in model.poolers]
    network = reachable(model)
    targets = _Targets(databases, poolers)
    notes += [_connect(client, endpoint_refs(client.refs), targets, settings, labels,
                       network.get(client.where.key))
              for client in model.clients]
    found = [note for note in notes if note is not None]
    by_key = {p.where.key: p for p in model.poolers}
    found = [replace(note, databases=_databases_of(note, by_key, behind)) for note in found]
    model.unread.extend(unread_of(note) for note in found)


def _unmatched(thing: Pooler | Client, candidates: list[Key], labels: dict[Key, str],
               named: list[str] | None = None) -> Unmatched:
    where = thing.where
    return Unmatched(where, tuple(labels[key] for key in candidates),
                     candidates[0][1] if candidates else "", tuple(named or ()),
                     frozenset(candidates), "client" if isinstance(thing, Client) else "pooler",
                     thing.unknown_host if isinstance(thing, Client) else "")


def unread_of(item: Unmatched) -> Unread:
    """A client or pooler whose database cannot be told, as a coverage item: why, and the
    mapping (or the database to describe) that tells it."""
    where = item.where
    first = item.first or "<database address>"
    mapping = f'[tool.connbudget.clients] "{where.address}" = "{first}"'
    fix = f"map it in the config: {mapping}"
    if not item.candidates:
        # Its database is not in the scanned files (another repository, a managed service).
        fix = (f'describe its database in the config: [tool.connbudget.databases."{first}"] '
               f"max-connections = <SHOW max_connections>, then {mapping}")
    if item.unknown_host:
        why = f"the database it connects to is unknown ({item.unknown_host})"
    elif item.named:
        why = (f"it connects to {', '.join(item.named)}, which no scanned database or pooler "
               "answers to")
    elif len(item.candidates) > 1:
        why = f"it may connect to any of {', '.join(item.candidates)}"
    else:
        why = "it names no database, and none is in its scope"
    return Unread(where.address, why, where.file, where.line, fix, kind=item.kind,
                  root=where.root, databases=item.databases)
