"""Several Terraform roots joined the way teams join them: one root per component.

A client in root A reaches a database defined in root B through
  - `data "terraform_remote_state" "x"` and an output of B (`...outputs.endpoint`): B is the
    root whose directory the state names (`backend = "local"`: `config.path`; s3, gcs, azurerm,
    remote: the directories of `key` / `prefix` / `workspaces.name`, else the data source's own
    name, matched against the roots' directory names), and the output's expression names the
    database in B;
  - a data source that looks a database up by identifier (providers.registry
    DATABASE_LOOKUPS): the database
    whose `identifier` / `cluster_identifier` is that literal, in any root.
A value read from SSM Parameter Store or Secrets Manager is never read: the client says so,
and the config mapping (which may name a database in a sibling root) decides.
"""

from __future__ import annotations

import os
import re
from typing import Any

from connbudget.frontends.terraform.model import Resource, TerraformModel, Unknown
from connbudget.model import Client, Key, Model, Pooler, refers_to
from connbudget.providers.registry import DATABASE_LOOKUPS, SECRET_STORES
from connbudget.providers.tfvalues import refs as _refs

_REMOTE = re.compile(r"^data\.terraform_remote_state\.([\w-]+)\.outputs\.([\w-]+)")


def _norm(path: str) -> str:
    return os.path.normpath(os.path.abspath(path))


def _parts(text: str) -> list[str]:
    return [p for p in re.split(r"[\\/]", text) if p and p != "." and not p.endswith(".tfstate")]


def _state_root(source: Resource, roots: list[str]) -> tuple[str | None, str]:
    """The root a remote state data source reads, and how that was decided."""
    backend = source.attrs.get("backend")
    config = source.attrs.get("config")
    config = config if isinstance(config, dict) else {}
    here = source.root or os.path.dirname(source.file)
    if backend == "local":
        path = config.get("path")
        if isinstance(path, str):
            wanted = _norm(os.path.join(here, os.path.dirname(path) or "."))
            found = [root for root in roots if _norm(root) == wanted]
            if found:
                return found[0], f"backend local path {path}"
            return None, f"backend local path {path} is no scanned root"
    words: list[str] = []
    for key in ("key", "prefix"):
        if isinstance(config.get(key), str):
            words += _parts(config[key])
    workspaces = config.get("workspaces")
    for block in workspaces if isinstance(workspaces, list) else [workspaces]:
        if isinstance(block, dict) and isinstance(block.get("name"), str):
            words.append(block["name"])
    others = [root for root in roots if _norm(root) != _norm(here)]
    for word, how in [*((w, f"state key {w}") for w in reversed(words)),
                      (source.name, f"data source name {source.name}")]:
        found = [root for root in others if os.path.basename(_norm(root)) == word]
        if len(found) == 1:
            return found[0], f"backend {backend} {how} = root directory {found[0]}"
    return None, f"backend {backend}: no scanned root matches its state"


def _by_refs(value: Any, root: str, targets: dict[Key, set[str]]) -> list[Key]:
    refs = _refs(value)
    if isinstance(value, str) and "${" not in value:
        refs.add(value.lower())
    return sorted(key for key, aliases in targets.items() if key[0] == root
                  and any(refers_to(ref, alias) for ref in refs for alias in aliases))


def _expression(value: Any) -> str:
    return value.expression if isinstance(value, Unknown) else repr(value)


def _resolve(ref: str, root: str, terraform: TerraformModel, roots: list[str],
             targets: dict[Key, set[str]], data: dict[tuple[str, str], Resource],
             ) -> tuple[list[Key], str]:
    """Targets one data-source reference names, and how (or why none)."""
    remote = _REMOTE.match(ref)
    if remote:
        name, output = remote.groups()
        source = data.get((root, f"data.terraform_remote_state.{name}"))
        if source is None:
            return [], f"data.terraform_remote_state.{name} is not declared in {root}"
        state_root, how = _state_root(source, roots)
        if state_root is None:
            return [], f"data.terraform_remote_state.{name}: {how}"
        outputs = terraform.outputs.get(state_root, {})
        if output not in outputs:
            return [], f"root {state_root} has no output {output}"
        value = outputs[output]
        found = _by_refs(value, state_root, targets)
        return found, (f"terraform_remote_state {name} ({how}) output {output} = "
                       f"{_expression(value)}")
    parts = ref.split(".")
    if len(parts) >= 3 and parts[1] in DATABASE_LOOKUPS:
        address = ".".join(parts[:3])
        source = data.get((root, address))
        if source is None:
            return [], f"{address} is not declared in {root}"
        identifier = source.attrs.get(DATABASE_LOOKUPS[parts[1]])
        if not isinstance(identifier, str):
            return [], f"{address} {DATABASE_LOOKUPS[parts[1]]} is not a literal"
        found = sorted(key for key, aliases in targets.items() if identifier in aliases)
        return found, f"{address} looks up {DATABASE_LOOKUPS[parts[1]]} {identifier!r}"
    return [], ""


def join(model: Model, terraform: TerraformModel, roots: list[str]) -> None:
    """Set the target of every client or pooler whose references cross roots."""
    if not terraform.data_sources:
        return
    data = {(d.root, d.address): d for d in terraform.data_sources}
    databases = {d.where.key: d.aliases | {d.where.address} for d in model.databases}
    poolers = {p.where.key: p.aliases | {p.where.address} for p in model.poolers}
    things: list[Client | Pooler] = [*model.poolers, *model.clients]
    for thing in things:
        refs = sorted(thing.refs if isinstance(thing, Client) else thing.target_refs)
        targets = databases if isinstance(thing, Pooler) else {**databases, **poolers}
        found: dict[Key, str] = {}
        for ref in refs:
            if not ref.startswith("data."):
                continue
            kind = ref.split(".")[1] if ref.count(".") >= 2 else ""
            if isinstance(thing, Client) and kind in SECRET_STORES:
                source = ".".join(ref.split(".")[:3])
                thing.notes.append(f"a value comes from {source}: it is never read, so the "
                                   "database it names is unknown")
                thing.unknown_host = thing.unknown_host or \
                    f"its connection setting comes from {source}, whose value is never read"
                continue
            keys, how = _resolve(ref, thing.where.root, terraform, roots, targets, data)
            for key in keys:
                found.setdefault(key, how)
            if not keys and how and isinstance(thing, Client):
                thing.notes.append(f"{ref}: {how}")
        if len(found) == 1:
            key, how = next(iter(found.items()))
            thing.target = key
            thing.matched_by = f"across roots: {how}"
