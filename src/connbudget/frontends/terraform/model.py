"""What the Terraform front end yields: resources, module calls and explicit unknowns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

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
    attr_lines: dict[str, int] = field(default_factory=dict)  # top-level attribute -> its line
    # the root module's directory, as given: each root is its own configuration
    root: str = field(default="", compare=False)


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


@dataclass
class TerraformModel:
    resources: list[Resource] = field(default_factory=list)
    modules: list[ModuleCall] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)
    # `data` blocks (address `data.<type>.<name>`) and each root's outputs, for joining roots
    data_sources: list[Resource] = field(default_factory=list)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
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
