"""Terragrunt units: a `terragrunt.hcl` runs a Terraform module with the variables its `inputs`
give (Terragrunt passes them as TF_VAR_ variables).

The module is the directory of the unit itself when it holds `.tf` files, else the local
`terraform { source }` (`../modules//app` reads `../modules/app`); a remote source
(`git::`, `tfr://`, a registry address) is a module call of the unit, read as the call of that
module would be (the terraform-aws-modules by their inputs). `include` blocks merge their
parent's `inputs` and `terraform` (merge_strategy shallow, the default, deep or no_merge);
`locals`, `read_tfvars_file`, `read_terragrunt_config`, `find_in_parent_folders`,
`get_terragrunt_dir`, `get_parent_terragrunt_dir`, `path_relative_to_include`, `get_repo_root`
and Terraform's own functions are evaluated, confined to the scanned tree; anything else
(`get_env`, `run_cmd`, a `dependency` output) is unknown, never run. Each input is located where
its value is written: the unit's or a parent's `inputs`, the tfvars file read, else the
`inputs` line. Inputs for variables the module does not declare are ignored, as Terraform
ignores such TF_VAR_ variables.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

from connbudget import confine
from connbudget.comments import Comment
from connbudget.errors import InputError
from connbudget.frontends.terraform.evaluate import evaluate_raw
from connbudget.frontends.terraform.loader import Unit, load_terraform, setting
from connbudget.frontends.terraform.model import ModuleCall, Setting, TerraformModel, Unknown
from connbudget.frontends.terraform.parse import TF_SUFFIXES, Body, parse_file, parse_hcl
from connbudget.frontends.terraform.values import (
    Context,
    EvalError,
    Function,
    Scope,
    contains_unknown,
    merge_unknown,
    to_string,
)
from connbudget.kinds import Read, ReadContext

FILE = "terragrunt.hcl"
_MAX_CONFIGS = 32  # configurations one unit may read (includes, read_terragrunt_config)
_REMOTE = ("git::", "git@", "tfr://", "s3::", "gcs::", "http://", "https://", "hg::")


@dataclass
class _State:
    """What one unit's evaluation read, for locating its inputs and bounding the work."""

    unit: str  # the unit's directory
    errors: list[InputError] = field(default_factory=list)
    bodies: dict[str, Body] = field(default_factory=dict)  # the configurations read
    # read_tfvars_file's files: (the configuration that read it, the file, its body)
    tfvars: list[tuple[str, str, Body]] = field(default_factory=list)


class _Config(Context):
    """One Terragrunt configuration evaluated for a unit: its locals, its includes' exposed
    values and Terragrunt's functions."""

    def __init__(self, path: str, body: Body, state: _State, include_dir: str = "") -> None:
        self.path = path
        self.body = body
        self.state = state
        self.directory = os.path.dirname(path) or "."
        self.root_directory = state.unit
        self.include_dir = include_dir  # for a parent: its own directory
        self._locals_raw: dict[str, str] = {}
        for block in body.get("blocks", []):
            if block.get("type") == "locals":
                self._locals_raw.update(block.get("attrs", {}))
        self._locals: dict[str, Any] = {}
        self._pending: set[str] = set()
        self.includes: dict[str, dict[str, Any]] = {}  # exposed includes by label

    def local(self, name: str, text: str) -> Any:
        if name in self._locals:
            return self._locals[name]
        if name not in self._locals_raw:
            return Unknown(text, f"local {name} is not declared")
        if name in self._pending:
            return Unknown(text, f"local {name} depends on itself")
        self._pending.add(name)
        try:
            value = evaluate_raw(self._locals_raw[name], Scope(self))
        finally:
            self._pending.discard(name)
        self._locals[name] = value
        return value

    def locals(self) -> dict[str, Any]:
        return {name: self.local(name, f"local.{name}") for name in self._locals_raw}

    def named(self, root: str) -> Any:
        return self.includes if root == "include" and self.includes else None

    def attribute(self, name: str) -> Any:
        raw = self.body.get("attrs", {}).get(name)
        return evaluate_raw(raw, Scope(self)) if raw is not None else None

    def function(self, name: str) -> Function | None:
        functions: dict[str, Function] = {
            "find_in_parent_folders": self._find_in_parent_folders,
            "read_tfvars_file": self._read_tfvars_file,
            "read_terragrunt_config": self._read_terragrunt_config,
            "get_terragrunt_dir": lambda args, scope, text: os.path.abspath(self.state.unit),
            "get_parent_terragrunt_dir": lambda args, scope, text: os.path.abspath(
                self.include_dir or self.directory),
            "path_relative_to_include": self._relative_to_include,
            "get_repo_root": self._repo_root,
            "get_env": lambda args, scope, text: Unknown(
                text, "an environment variable is read when Terragrunt runs"),
        }
        return functions.get(name)

    def _path(self, value: Any) -> str:
        path = to_string(value)
        return _like(path if os.path.isabs(path) else os.path.join(self.directory, path),
                     self.state.unit)

    def _find_in_parent_folders(self, args: list[Any], scope: Scope, text: str) -> Any:
        if contains_unknown(args):
            return merge_unknown(text, args)
        name = to_string(args[0]) if args else FILE
        directory = os.path.dirname(os.path.abspath(self.state.unit))
        while confine.outside(directory, (self.state.unit,)) is None:
            candidate = os.path.join(directory, name)
            if os.path.exists(candidate):
                return candidate  # absolute, as Terragrunt gives it
            parent = os.path.dirname(directory)
            if parent == directory:
                break
            directory = parent
        if len(args) > 1:
            return args[1]
        raise EvalError(f"find_in_parent_folders: no {name} above the unit in the scanned tree")

    def _read_tfvars_file(self, args: list[Any], scope: Scope, text: str) -> Any:
        if contains_unknown(args) or not args:
            return merge_unknown(text, args)
        path = self._path(args[0])
        problem = confine.check(path, (self.state.unit,))
        if problem is not None:
            raise EvalError(f"read_tfvars_file: the file is {problem}")
        body = parse_file(path)
        if "error" in body:
            raise EvalError("read_tfvars_file: the file is not valid HCL")
        self.state.tfvars.append((self.path, path, body))
        values = {name: evaluate_raw(raw, Scope(Context()))
                  for name, raw in body.get("attrs", {}).items()}
        if contains_unknown(values):
            return merge_unknown(text, list(values.values()))
        return json.dumps(values)

    def _read_terragrunt_config(self, args: list[Any], scope: Scope, text: str) -> Any:
        if contains_unknown(args[:1]) or not args:
            return merge_unknown(text, args)
        path = self._path(args[0])
        if not os.path.exists(path) and len(args) > 1:
            return args[1]
        found = _config(path, self.state)
        if found is None:
            raise EvalError("read_terragrunt_config: the file cannot be read")
        return {"locals": found.locals(), "inputs": found.attribute("inputs") or {}}

    def _relative_to_include(self, args: list[Any], scope: Scope, text: str) -> Any:
        base = self.include_dir or self.directory
        return os.path.relpath(self.state.unit, base)

    def _repo_root(self, args: list[Any], scope: Scope, text: str) -> Any:
        directory = os.path.abspath(self.state.unit)
        while confine.outside(directory, (self.state.unit,)) is None:
            if os.path.exists(os.path.join(directory, ".git")):
                return directory
            parent = os.path.dirname(directory)
            if parent == directory:
                break
            directory = parent
        raise EvalError("get_repo_root: no repository in the scanned tree")


def _like(path: str, reference: str) -> str:
    """`path` written as `reference` is (relative or absolute), so that every file the run
    names reads the same way."""
    return os.path.normpath(path) if os.path.isabs(reference) else os.path.relpath(path)


def _config(path: str, state: _State, include_dir: str = "") -> _Config | None:
    """A configuration file read for the unit (each at most once, a bounded number)."""
    if path not in state.bodies:
        problem = (f"more than {_MAX_CONFIGS} configurations" if len(state.bodies) >= _MAX_CONFIGS
                   else confine.check(path, (state.unit,)))
        if problem is not None:
            state.errors.append(InputError(os.path.join(state.unit, FILE), 1,
                                           f"a configuration it reads is {problem}"))
            return None
        body = parse_file(path)
        if "error" in body:
            error = body["error"]
            state.errors.append(InputError(path, error["line"], error["message"],
                                           error.get("column")))
            return None
        state.bodies[path] = body
    return _Config(path, state.bodies[path], state, include_dir)


def _merged(parent: Any, child: Any, strategy: str) -> Any:
    if strategy == "no_merge" or not isinstance(parent, dict):
        return child
    if not isinstance(child, dict):
        return child if child is not None else parent
    found = dict(parent)
    for key, value in child.items():
        deep = strategy == "deep" and isinstance(found.get(key), dict) and isinstance(value, dict)
        found[key] = _merged(found[key], value, "deep") if deep else value
    return found


def _source(config: _Config) -> Any:
    for block in config.body.get("blocks", []):
        if block.get("type") == "terraform" and "source" in block.get("attrs", {}):
            return evaluate_raw(block["attrs"]["source"], Scope(config))
    return None


@dataclass
class _Evaluated:
    inputs: Any  # dict, or Unknown
    source: Any
    configs: list[_Config]  # the unit's own first, then its parents


def _evaluate(path: str, state: _State) -> _Evaluated | None:
    unit = _config(path, state)
    if unit is None:
        return None
    inputs: Any = None
    source: Any = None
    configs = [unit]
    for block in unit.body.get("blocks", []):
        if block.get("type") != "include":
            continue
        target = evaluate_raw(block.get("attrs", {}).get("path"), Scope(unit))
        if not isinstance(target, str):
            inputs = Unknown("include", "the path of an include cannot be evaluated")
            # the reason may quote an evaluated value: only what kind of failure it is is said
            state.errors.append(InputError(path, block.get("line", 1), (
                "include: its path cannot be evaluated to a file in the scanned tree; the "
                "unit's inputs are unknown")))
            continue
        target = _like(target if os.path.isabs(target) else os.path.join(unit.directory, target),
                       state.unit)
        parent = _config(target, state, os.path.dirname(target) or ".")
        if parent is None:
            inputs = Unknown("include", "an included configuration cannot be read")
            continue
        configs.append(parent)
        strategy = evaluate_raw(block.get("attrs", {}).get("merge_strategy", '"shallow"'),
                                Scope(unit))
        if strategy != "no_merge":
            inputs = _merged(inputs, parent.attribute("inputs"), str(strategy))
            source = _source(parent) or source
        if evaluate_raw(block.get("attrs", {}).get("expose"), Scope(unit)) is True:
            label = block["labels"][0] if block.get("labels") else ""
            unit.includes[label] = {"locals": parent.locals(),
                                    "inputs": parent.attribute("inputs")}
    own = unit.attribute("inputs")
    if isinstance(inputs, Unknown) or isinstance(own, Unknown):
        inputs = merge_unknown("inputs", [v for v in (inputs, own) if isinstance(v, Unknown)])
    else:
        inputs = _merged(inputs, own, "shallow")
    return _Evaluated(inputs if inputs is not None else {}, _source(unit) or source, configs)


def _objects(text: str) -> list[tuple[int, int]]:
    """The offsets of the braces of the outermost `{ ... }` objects in an expression (`{...}`
    itself, or the maps `merge(...)` is given), outside strings."""
    found: list[tuple[int, int]] = []
    depth, start, quoted, escaped = 0, 0, False, False
    for offset, char in enumerate(text):
        if quoted:
            quoted = escaped or char != '"'
            escaped = not escaped and char == "\\"
        elif char == '"':
            quoted = True
        elif char == "{":
            depth += 1
            start = offset if depth == 1 else start
        elif char == "}" and depth:
            depth -= 1
            if depth == 0:
                found.append((start, offset))
    return found


def _object_settings(path: str, body: Body) -> dict[str, Setting]:
    """Where each key of the literal objects of `inputs` is written: each object's inside
    parsed as HCL attributes, its positions moved to where the object stands."""
    text = body.get("attrs", {}).get("inputs")
    span = body.get("spans", {}).get("inputs")
    if not isinstance(text, str) or not span:
        return {}
    found: dict[str, Setting] = {}
    for start, end in _objects(text):
        inner = parse_hcl(text[start + 1:end].encode())
        if "error" in inner:
            continue
        before = text[:start + 1]
        line = span[0] + before.count("\n")
        # columns of the object's first line count from where it starts
        column = (span[1] + start + 1) if "\n" not in before else len(before) - before.rfind("\n")
        for name in inner.get("attrs", {}):
            place = setting(path, inner, name)
            shift = column - 1 if place.line == 1 else 0
            found[name] = Setting(path, line + place.line - 1,
                                  place.column + shift if place.column else 0,
                                  place.end_column + shift if place.end_column else 0)
    return found


def _settings(evaluated: _Evaluated, state: _State, keys: list[str]) -> dict[str, Setting]:
    """Where each input is set: in the unit, then in each parent, the literal maps of its
    `inputs`, then the tfvars files it read; else the line of the unit's `inputs`."""
    places = []
    for config in evaluated.configs:
        places.append(_object_settings(config.path, config.body))
        places += [{name: setting(path, body, name) for name in body.get("attrs", {})}
                   for reader, path, body in state.tfvars if reader == config.path]
    unit = evaluated.configs[0]
    fallback = Setting(unit.path, unit.body.get("lines", {}).get("inputs", 1))
    return {key: next((found[key] for found in places if key in found), fallback)
            for key in keys}


def _has_tf(directory: str) -> bool:
    try:
        return any(name.endswith(TF_SUFFIXES) for name in os.listdir(directory))
    except OSError:
        return False


def _module(source: str, unit: str) -> str | None:
    """The local directory a `terraform { source }` names; None for a remote one."""
    if source.startswith(_REMOTE) or "::" in source or "?" in source:
        return None
    path = source.replace("//", "/")
    return _like(path if os.path.isabs(path) else os.path.join(unit, path), unit)


def _unit(path: str, state: _State, model: TerraformModel) -> Unit | None:
    evaluated = _evaluate(path, state)
    if evaluated is None:
        return None
    source = evaluated.source
    inputs = evaluated.inputs
    keys = sorted(inputs) if isinstance(inputs, dict) else []
    settings = _settings(evaluated, state, keys)
    directory = state.unit
    if isinstance(source, str) and source:
        local = _module(source, state.unit)
        if local is None:
            model.modules.append(_remote_call(source, evaluated, state))
            return None
        directory = local
    elif source is not None or not _has_tf(directory):
        if source is not None:  # unknown, or not a string
            line = next((b.get("lines", {}).get("source", b.get("line", 1))
                         for b in evaluated.configs[0].body.get("blocks", [])
                         if b.get("type") == "terraform"), 1)
            state.errors.append(InputError(path, line, "terraform source cannot be evaluated: "
                                                       "the module this unit runs is not read"))
        return None
    model.replaced.add(directory)
    return Unit(state.unit, directory, inputs, settings)


def _remote_call(source: str, evaluated: _Evaluated, state: _State) -> ModuleCall:
    """A unit that runs a remote module: a call of that module with the unit's inputs."""
    unit = evaluated.configs[0]
    inputs = evaluated.inputs if isinstance(evaluated.inputs, dict) else {}
    end = max([span[3] for span in unit.body.get("spans", {}).values()] or [1])
    return ModuleCall(f"module.{os.path.basename(os.path.abspath(state.unit))}", source, None,
                      inputs, unit.path, 1, end, root=state.unit, body=unit.body)


def read(paths: list[str], context: ReadContext) -> Read:
    """The `terragrunt` input kind: each unit's root configuration with its inputs."""
    model = TerraformModel()
    errors: list[InputError] = []
    units: list[Unit] = []
    comments: dict[str, list[Comment]] = {}
    for path in paths:
        state = _State(os.path.dirname(path) or ".")
        found = _unit(path, state, model)
        if found is not None:
            units.append(found)
        errors.extend(state.errors)
        comments.update({file: [Comment(file, line, column, text)
                                for line, column, text in body.get("comments", [])]
                         for file, body in state.bodies.items()})
    loaded = load_terraform([], list(context.var_files), context.cache,
                            secret_var_files=context.secret_var_files, units=tuple(units))
    model.resources, model.data_sources = loaded.resources, loaded.data_sources
    model.modules += loaded.modules
    model.outputs = loaded.outputs
    return Read(model, [*errors, *loaded.errors], {**comments, **loaded.comments})
