"""What the Terraform front end yields: resources, module calls and explicit unknowns."""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass, field
from typing import Any

from connbudget.comments import Comment
from connbudget.errors import InputError


@dataclass(frozen=True)
class Unknown:
    """A value the loader could not resolve; never replaced by a guess."""

    expression: str
    reason: str
    references: tuple[str, ...] = ()
    # For string values (templates, heredocs, jsonencode, templatefile): the text with each
    # unresolved part left as `${expression}`; `decode_json` turns it back into data.
    partial: str | None = None
    parts: tuple[Unknown, ...] = ()  # the unresolved pieces inside `partial`


def _source_lines(body: dict[str, Any]) -> list[tuple[int, str]]:
    """(line, text) of every attribute of a parsed block and its nested blocks, comments left
    out: `name = value`, then each further line of a multi-line value."""
    found: list[tuple[int, str]] = []
    for name, text in body.get("attrs", {}).items():
        line = body.get("lines", {}).get(name, body.get("line", 0))
        first, *rest = str(text).split("\n")
        found.append((line, f"{name} = {first}"))
        found.extend((line + offset, more) for offset, more in enumerate(rest, start=1))
    for block in body.get("blocks", []):
        found.extend(_source_lines(block))
    return sorted(found)


@dataclass(frozen=True)
class Setting:
    """Where a root module's variable gets its value outside the module (a tfvars file, a
    Terragrunt `inputs` entry): the value's line, and its columns when it is a whole number on
    one line (0 otherwise), so that a fix changes it there."""

    file: str
    line: int
    column: int = 0
    end_column: int = 0


@dataclass(frozen=True)
class CallSite:
    """Where a local module is called: what a resource inside it needs is set at this call, in
    the input of that name (`input_lines`: input name -> line of the call)."""

    file: str
    line: int
    input_lines: dict[str, int] = field(default_factory=dict, compare=False)


@dataclass
class Resource:
    type: str
    name: str
    address: str
    attrs: dict[str, Any]
    file: str
    line: int
    end_line: int
    module_path: str = ""
    # the parsed block: attribute texts and the lines of its attributes and nested blocks
    body: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    # the root module's directory, as given: each root is its own configuration
    root: str = field(default="", compare=False)
    # inside a local module: the call that feeds its variables
    call: CallSite | None = field(default=None, compare=False)
    # in a root module: where its variables are set (variable name -> the value's place)
    settings: dict[str, Setting] = field(default_factory=dict, repr=False, compare=False)

    @functools.cached_property
    def source_lines(self) -> list[tuple[int, str]]:
        """(line, text) of its attributes and nested blocks, from the parsed block."""
        return _source_lines(self.body)

    def span_column(self) -> int:
        """The 0-based column its block starts at, as the parser recorded it (-1 when the
        format gives none)."""
        return _block_column(self.body)


def _block_column(body: dict[str, Any]) -> int:
    span = body.get("span") if isinstance(body, dict) else None
    return span[1] - 1 if isinstance(span, list) and len(span) == 6 else -1


@dataclass
class ModuleCall:
    address: str
    source: str
    version: str | None
    inputs: dict[str, Any]
    file: str
    line: int
    end_line: int
    root: str = field(default="", compare=False)  # the root module's directory, as given
    body: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    # where its source was read from, when `terraform init` has put it in the tree
    # (.terraform/modules/modules.json); "" when it was not read
    source_dir: str = field(default="", compare=False)
    # in a root module: where its variables are set (variable name -> the value's place)
    settings: dict[str, Setting] = field(default_factory=dict, repr=False, compare=False)

    @functools.cached_property
    def source_lines(self) -> list[tuple[int, str]]:
        """(line, text) of its attributes and nested blocks, from the parsed block."""
        return _source_lines(self.body)

    def span_column(self) -> int:
        """The 0-based column its block starts at (-1 when the format gives none)."""
        return _block_column(self.body)


Span = tuple[int, int, int, int]  # (line, column, end line, end column) of a value


def _found(body: dict[str, Any], key: str) -> tuple[int, Span | None] | None:
    """The line of attribute `key` and its value's span, in this body or the first nested
    block (depth first) that sets it."""
    if key in body.get("attrs", {}):
        raw = body.get("spans", {}).get(key)
        span = (raw[0], raw[1], raw[3], raw[4]) if isinstance(raw, list) and len(raw) == 6 \
            else None
        return body.get("lines", {}).get(key, body.get("line", 0)), span
    for inner in body.get("blocks", []):
        found = _found(inner, key)
        if found is not None:
            return found
    return None


def position_of(block: Resource | ModuleCall, key: str) -> tuple[int, Span | None]:
    """Where the block (or its first nested block that does) sets attribute `key`, as the
    parser recorded it: the line of the attribute and the span of its value (None when the
    format gives no span); the block's own line and None when nothing sets it."""
    body = block.body if isinstance(block.body, dict) else {}
    return _found(body, key) or (block.line, None)


def line_of(block: Resource | ModuleCall, needle: str) -> int:
    """The line inside the block where `needle` (an attribute or key name, or a quoted string)
    is set, from the parsed block (comments are not read); the block's line when absent."""
    pattern = _needle(needle)
    return next((line for line, text in block.source_lines if pattern.search(text)),
                block.line)


@functools.lru_cache(maxsize=256)
def _needle(needle: str) -> re.Pattern[str]:
    return re.compile(rf"^\s*\"?{re.escape(needle)}\"?\s*[=:]|\"{re.escape(needle)}\"")


@dataclass(frozen=True)
class Parameter:
    """A database parameter as a block sets it (`parameter { name value }`, or an entry of a
    module's parameter list): the value evaluated (text, number or Unknown), with its line."""

    name: str
    value: Any
    block: str  # the address of the resource or module call that sets it
    file: str
    line: int
    span: tuple[int, int, int, int] | None = None  # where its value is written


def parameters(block: Resource | ModuleCall, entries: list[dict[str, Any]]) -> list[Parameter]:
    """The named entries of a block's parameter list, in order; entries without a name are
    not parameters."""
    found = []
    for entry in entries:
        name = entry.get("name")
        if isinstance(name, str) and name:
            line, span = _value_position(block, name)
            found.append(Parameter(name, entry.get("value"), block.address, block.file,
                                   line, span))
    return found


def _value_position(block: Resource | ModuleCall, name: str) -> tuple[int, Span | None]:
    """Where the value of parameter `name` is written: the `value` of the nested block whose
    `name` is that literal, as the parser recorded it; else the line that names it."""
    for inner in block.body.get("blocks", []) if isinstance(block.body, dict) else []:
        if inner.get("attrs", {}).get("name") == f'"{name}"':
            found = _found(inner, "value")
            if found is not None:
                return found
    return line_of(block, name), None


@dataclass
class TerraformModel:
    resources: list[Resource] = field(default_factory=list)
    modules: list[ModuleCall] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)
    # `data` blocks (address `data.<type>.<name>`) and each root's outputs, for joining roots
    data_sources: list[Resource] = field(default_factory=list)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    # per file read: its comments that can suppress a finding
    comments: dict[str, list[Comment]] = field(default_factory=dict)
    # the root directories whose configuration this model gives in their place (a Terragrunt
    # unit's module, run with the unit's inputs): another read of them is left out
    replaced: set[str] = field(default_factory=set)
    # Lookup indexes, rebuilt when `resources` changes length.
    _by_address: dict[str, Resource] = field(default_factory=dict, repr=False, compare=False)
    _by_type: dict[str, list[Resource]] = field(default_factory=dict, repr=False, compare=False)
    _indexed: int = field(default=-1, repr=False, compare=False)

    def _index(self) -> None:
        if self._indexed == len(self.resources):
            return
        self._by_address = {}
        self._by_type = {}
        for resource in self.resources:
            self._by_address.setdefault(resource.address, resource)
            self._by_type.setdefault(resource.type, []).append(resource)
        self._indexed = len(self.resources)

    def resource(self, address: str) -> Resource | None:
        self._index()
        return self._by_address.get(address)

    def by_type(self, type_: str) -> list[Resource]:
        self._index()
        return list(self._by_type.get(type_, ()))


def combine(models: list[TerraformModel]) -> TerraformModel:
    """One model of several reads (root modules, plans, Terragrunt units): a root that another
    read gives in its place is left out of the others."""
    found = TerraformModel()
    real = functools.cache(lambda root: os.path.realpath(root or "."))
    for model in models:
        others = {real(d) for m in models if m is not model for d in m.replaced}

        def kept(root: str, others: set[str] = others) -> bool:
            return not others or real(root) not in others

        found.resources.extend(r for r in model.resources if kept(r.root))
        found.modules.extend(m for m in model.modules if kept(m.root))
        found.data_sources.extend(d for d in model.data_sources if kept(d.root))
        found.outputs.update((root, out) for root, out in model.outputs.items() if kept(root))
    return found
