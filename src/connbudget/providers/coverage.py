"""What a run recognised and did not read, as the model's coverage items (`Unread`): inputs of
the coverage kinds (a Helm chart, a Bicep file, a CloudFormation template, ...), Terraform
resources of a type no adapter models yet (`registry.UNMODELLED`), and remote modules whose
source is not in the scanned tree and that no adapter reads. Each keeps the databases it may
touch from being "ok"; none is ever dropped."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import Any

from connbudget.frontends.terraform.model import ModuleCall, Resource, TerraformModel
from connbudget.frontends.unread import Unread as UnreadInput
from connbudget.kinds import BY_NAME
from connbudget.model import Unread
from connbudget.providers.context import BuildContext
from connbudget.providers.registry import ADAPTERS, UNMODELLED, Unmodelled

_PLAN = ("scan the plan, which holds its resources: terraform init && terraform plan -out "
         "plan.out && terraform show -json plan.out > plan.json && connbudget scan plan.json")


def inputs(parsed: dict[str, Any], context: BuildContext) -> None:
    """One item per input of a coverage kind (a chart is one, however many templates)."""
    for name, found in parsed.items():
        kind = BY_NAME.get(name)
        if kind is None or kind.family != "coverage":
            continue
        item: UnreadInput
        for item in found:
            context.model.unread.append(Unread(
                f"{kind.label} {item.name}", kind.unread, item.path, 1,
                kind.fix.format(source=item.source, stem=os.path.splitext(item.source)[0]),
                kind="chart" if name.startswith("helm") else "file"))


def _texts(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for inner in value.values():
            yield from _texts(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _texts(inner)


def _is_one(entry: Unmodelled, resource: Resource) -> bool:
    """Whether the resource is one the entry describes (an unresolved deciding attribute may
    be: it is kept)."""
    if entry.needs and not resource.attrs.get(entry.needs):
        return False
    attribute, pattern = entry.when
    if not pattern:
        return True
    found = re.compile(pattern, re.IGNORECASE)
    if not attribute:
        return any(found.search(text) for text in _texts(resource.attrs))
    value = resource.attrs.get(attribute)
    return not isinstance(value, str) or bool(found.search(value))


def _resource(resource: Resource, entry: Unmodelled) -> Unread:
    if entry.database:
        return Unread(
            resource.address, f"{entry.what}, a database connbudget does not model yet",
            resource.file, resource.line,
            f'pin it so that its budget is computed: [tool.connbudget.databases."'
            f'{resource.address}"] max-connections = <what SHOW max_connections prints>',
            root=resource.root, databases=frozenset())
    return Unread(
        resource.address, f"{entry.what}, a client connbudget does not model yet",
        resource.file, resource.line,
        f"count its worst case yourself ({entry.bound} x processes x pool) within the slots "
        "its database has left, then record it above the resource: # connbudget:ignore CB111 "
        "<the count and why it fits>", root=resource.root)


def _module(call: ModuleCall) -> Unread:
    return Unread(call.address, f"its source {call.source} is a remote module whose code is "
                  "not in the scanned tree, so what it creates is not read", call.file,
                  call.line, _PLAN, kind="module", root=call.root)


def terraform(parsed: dict[str, TerraformModel], context: BuildContext) -> None:
    """Resources of a type no adapter models yet, and remote modules no adapter reads. A
    database resource pinned in the config is described by its pin."""
    model = parsed["terraform"]
    pinned = context.settings.databases
    for resource in model.resources:
        entry = UNMODELLED.get(resource.type)
        if entry is None or not _is_one(entry, resource):
            continue
        if entry.database and resource.address in pinned:
            continue
        context.model.unread.append(_resource(resource, entry))
    sources = [pattern for adapter in ADAPTERS for pattern in adapter.module_sources()]
    for call in model.modules:
        if call.source_dir:  # `terraform init` put its code in the tree: read like a local one
            continue
        if not any(pattern.search(call.source) for pattern in sources):
            context.model.unread.append(_module(call))
