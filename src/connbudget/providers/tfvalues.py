"""Reading the evaluated attributes of Terraform blocks into the capacity model: numbers with
their origin, nested blocks, text, and the addresses a value refers to. Provider-neutral: every
provider's adapter reads its resources through these."""

from __future__ import annotations

import re
from typing import Any

from connbudget.frontends.terraform.model import (
    ModuleCall,
    Resource,
    TerraformModel,
    Unknown,
    position_of,
)
from connbudget.model import Location, Origin, Value, count, refers_to, unknown
from connbudget.providers.apps.env import EnvVar

# a resource or data source of any provider (`<provider>_<type>.<name>`), a module, a remote
# state output; data sources stay whole: `data.aws_rds_cluster.x` is not the resource
# `aws_rds_cluster.x` of this root
REF = re.compile(r"\b(data\.terraform_remote_state\.[\w-]+\.outputs\.[\w-]+|data\.[a-z]\w*\.[\w-]+"
                 r"|module\.[\w-]+|(?<![.\w])[a-z][a-z0-9]*_\w+\.[\w-]+)")


def refs(value: Any) -> set[str]:
    """Addresses a value refers to, inside unknowns, interpolations and nested data."""
    found: set[str] = set()
    if isinstance(value, Unknown):
        found.update(value.references)
        found.update(REF.findall(value.expression))
        if value.partial:
            found.update(REF.findall(value.partial))
    elif isinstance(value, str) and "${" in value:
        found.update(REF.findall(value))
    elif isinstance(value, dict):
        for inner in value.values():
            found |= refs(inner)
    elif isinstance(value, list):
        for inner in value:
            found |= refs(inner)
    return found


def where_of(block: Resource | ModuleCall) -> Location:
    return Location(block.address, block.file, block.line, block.end_line, block.root)


def refers(value: Any, block: Resource) -> bool:
    """Whether `value` names `block`: by a reference, or by its name, identifier or ARN as a
    plan writes references (`aws_ecs_task_definition.x.arn` becomes the ARN)."""
    if any(refers_to(ref, block.address) for ref in refs(value)):
        return True
    names = {text(block.attrs.get(key))
             for key in ("name", "identifier", "cluster_identifier", "arn")}
    return isinstance(value, str) and value in names - {None}


_VARIABLE = re.compile(r"var\.([\w-]+)")


def _nested(body: dict[str, Any], within: tuple[str, ...]) -> dict[str, Any] | None:
    """The parsed body of the nested block at `within` (block types), when each occurs once."""
    for kind in within:
        found = [b for b in body.get("blocks", []) if isinstance(b, dict) and b.get("type") == kind]
        if len(found) != 1:
            return None
        body = found[0]
    return body


def located(block: Resource | ModuleCall, key: str, text: str,
            within: tuple[str, ...] = ()) -> Origin:
    """Where `key` (in the nested block `within`, else in the block or the first nested block
    that sets it) is set, as the parser recorded it: its value's line and, on one line, its
    columns, so that a fix replaces it exactly. A root variable's value is where it is set
    (a tfvars file, a Terragrunt unit's inputs)."""
    body = _nested(block.body, within) if isinstance(block.body, dict) else None
    variable = _VARIABLE.fullmatch(str(body.get("attrs", {}).get(key, ""))) if body else None
    setting = block.settings.get(variable.group(1)) if variable else None
    if setting is not None:
        return Origin(text, setting.file, setting.line, setting.column, setting.end_column)
    if not within:
        line, span = position_of(block, key)
        return Origin.spanning(text, block.file, span, line)
    raw = body.get("spans", {}).get(key) if body is not None else None
    if not raw:
        return Origin(text, block.file, block.line)
    return Origin.spanning(text, block.file, (raw[0], raw[1], raw[3], raw[4]), raw[0])


def number(block: Resource | ModuleCall, attrs: dict[str, Any], key: str,
           default: tuple[int, str] | None, within: tuple[str, ...] = ()) -> Value:
    line = located(block, key, "", within).line or block.line
    if key not in attrs or attrs[key] is None:
        if default is None:
            return unknown(f"{block.address} sets no {key}", block.file, block.line)
        return Value(default[0], Origin(f"default: {key} {default[0]} ({default[1]})"))
    raw = attrs[key]
    if isinstance(raw, Unknown):
        return unknown(f"{block.address} {key} = {raw.expression} is unresolved ({raw.reason})",
                       block.file, line)
    found = count(raw)
    if found is None:
        return unknown(f"{block.address} {key} is not a whole number", block.file, line)
    return Value(found, located(block, key, f"{block.address} {key}", within))


def env_var(name: str, value: Any, file: str = "", line: int = 0) -> EnvVar:
    """An environment variable a Terraform value sets: a string with unresolved parts keeps its
    text (a DSN's user and database), a reference keeps the addresses it names."""
    found = tuple(sorted(refs(value)))
    if isinstance(value, Unknown):
        partial = value.expression if "${" in value.expression else None
        return EnvVar(name, partial, found, file=file, line=line)
    return EnvVar(name, None if value is None else str(value), found, file=file, line=line)


def decimal(value: Any) -> float | None:
    """A number that may have a fraction (an ACU, an alarm threshold)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def blocks(attrs: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = attrs.get(key)
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, dict)]
    return []


def line_in(block: Resource | ModuleCall, key: str) -> int:
    """The line of `key` in the block; 0 when the block does not set it."""
    line, _ = position_of(block, key)
    return line if line != block.line else 0


def location(block: Resource | ModuleCall) -> Location:
    """Where a resource or module call stands, in its root."""
    return Location(block.address, block.file, block.line, block.end_line, block.root)


BlockPath = tuple[tuple[str, int], ...]  # nested blocks from a resource: (block type, index) each


def _body_at(block: Resource | ModuleCall, path: BlockPath) -> dict[str, Any] | None:
    body: Any = block.body
    for kind, index in path:
        found = [inner for inner in body.get("blocks", []) if inner.get("type") == kind] \
            if isinstance(body, dict) else []
        if index >= len(found):
            return None
        body = found[index]
    return body if isinstance(body, dict) else None


def located_at(block: Resource | ModuleCall, path: BlockPath, key: str, text: str) -> Origin:
    """The origin of the value of `key` in the nested block at `path` (by index: the second
    `env` of the first `container`): its line, and its columns when the value is one literal on
    one line (inside the quotes of a string), so that a fix replaces exactly the value. The
    block's own line when the key is not written there (a dynamic block, a module's variable).
    At the block itself, as `located` (a root variable's value is where it is set)."""
    if not path:
        return located(block, key, text)
    body = _body_at(block, path)
    line = body.get("lines", {}).get(key) if body is not None else None
    if body is None or not isinstance(line, int):
        return Origin(text, block.file, block.line)
    span = body.get("spans", {}).get(key)
    source = str(body.get("attrs", {}).get(key, ""))
    if not isinstance(span, list) or len(span) < 5 or span[0] != span[3]:
        return Origin(text, block.file, span[0] if isinstance(span, list) and span else line)
    column, end = span[1], span[4]
    if len(source) >= 2 and source[0] == source[-1] == '"' and "${" not in source:
        column, end = column + 1, end - 1
    elif not re.fullmatch(r"-?\d+(?:\.\d+)?", source):
        return Origin(text, block.file, span[0])  # an expression: the line, never a span
    return Origin(text, block.file, span[0], column, end)


def roots_of(model: TerraformModel) -> list[str]:
    """The root modules of a run, in load order."""
    return list(dict.fromkeys([*(r.root for r in model.resources),
                               *(m.root for m in model.modules)]))


def by_root(model: TerraformModel) -> list[TerraformModel]:
    """Each root module as its own configuration: references resolve only inside it."""
    resources: dict[str, list[Resource]] = {}
    modules: dict[str, list[ModuleCall]] = {}
    for resource in model.resources:
        resources.setdefault(resource.root, []).append(resource)
    for call in model.modules:
        modules.setdefault(call.root, []).append(call)
    return [TerraformModel(resources.get(root, []), modules.get(root, []))
            for root in roots_of(model)]
