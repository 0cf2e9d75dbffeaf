"""Loading Terraform root modules and their local modules into a `TerraformModel`."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from connbudget import confine
from connbudget.comments import Comment
from connbudget.errors import InputError
from connbudget.frontends.terraform.evaluate import evaluate_raw
from connbudget.frontends.terraform.model import (
    CallSite,
    ModuleCall,
    Resource,
    Setting,
    TerraformModel,
    Unknown,
)
from connbudget.frontends.terraform.parse import (
    TF_SUFFIXES,
    Body,
    cached_scan,
    forget_ready,
    parse_file,
    preparse,
)
from connbudget.frontends.terraform.types import convert
from connbudget.frontends.terraform.values import (
    Budget,
    Context,
    EvalError,
    LimitError,
    Scope,
    concealed,
    contains_unknown,
    mark,
    merge_unknown,
    note_limit,
    reset_marks,
    set_budget,
    spend,
    to_number,
    to_string,
)
from connbudget.kinds import Read, ReadContext
from connbudget.passwords import names_a_secret
from connbudget.quoting import hcl_string

_MAX_MODULE_DEPTH = 16
MAX_INSTANCES = 1024  # instances one count or for_each expands to, nested modules' together
_INSTANCE_STEPS = 100  # the step budget a module instance costs, besides its expressions
_RESOURCE_META = ("count", "for_each", "depends_on", "provider")
# Blocks that steer Terraform itself and hold no resource values (ignore_changes = [tags]).
_META_BLOCKS = ("lifecycle", "provisioner", "connection")
_MODULE_META = ("source", "version", "count", "for_each", "depends_on", "providers")
# where `terraform init` records the remote modules it installed, relative to the root
_MANIFEST = os.path.join(".terraform", "modules", "modules.json")
_MAX_MANIFEST_BYTES = 8 * 1024 * 1024


@dataclass
class _Block:
    file: str
    body: Body

    @property
    def labels(self) -> list[str]:
        labels: list[str] = self.body["labels"]
        return labels

    @property
    def line(self) -> int:
        line: int = self.body["line"]
        return line

    @property
    def end_line(self) -> int:
        end_line: int = self.body["end_line"]
        return end_line


@dataclass
class _Loader:
    use_cache: bool
    errors: list[InputError] = field(default_factory=list)
    bodies: dict[str, Body] = field(default_factory=dict)
    listed: dict[str, list[_Block]] = field(default_factory=dict)
    # per root: module call key -> the directory `terraform init` installed its source in
    manifests: dict[str, dict[str, str]] = field(default_factory=dict)
    # (expression text, message): refused files and limits reached, located at the end
    notes: dict[tuple[str, str], None] = field(default_factory=dict)
    located: dict[InputError, None] = field(default_factory=dict)  # the same, already located

    def file(self, path: str, cache: bool = True) -> Body:
        if path not in self.bodies:
            body = parse_file(path, self.use_cache and cache)
            if "error" in body:
                error = body["error"]
                self.errors.append(InputError(path, error["line"], error["message"],
                                              error.get("column")))
            self.bodies[path] = body
        return self.bodies[path]

    def installed(self, root: str, key: str) -> str | None:
        """The directory `terraform init` put the source of module call `key` in, from the
        root's .terraform/modules/modules.json; None when init has not run or did not."""
        if root not in self.manifests:
            self.manifests[root] = self._manifest(root)
        found = self.manifests[root].get(key)
        return os.path.normpath(os.path.join(root, found)) if found else None

    def _manifest(self, root: str) -> dict[str, str]:
        path = os.path.join(root, _MANIFEST)
        if not os.path.lexists(path):
            return {}
        try:
            data = json.loads(confine.read_regular(path, _MAX_MANIFEST_BYTES))
        except confine.Refused as exc:
            self.errors.append(InputError(path, 0, f"{exc.strerror}; remote modules not read"))
            return {}
        except (OSError, ValueError):
            self.errors.append(InputError(path, 1, "not a modules.json Terraform writes; "
                                                   "remote modules not read"))
            return {}
        entries = data.get("Modules") if isinstance(data, dict) else None
        return {entry["Key"]: entry["Dir"] for entry in entries or []
                if isinstance(entry, dict) and isinstance(entry.get("Key"), str)
                and entry["Key"] and isinstance(entry.get("Dir"), str) and entry["Dir"]}

    def blocks(self, directory: str) -> list[_Block]:
        """The blocks of the directory's .tf files; callers only read the list."""
        if directory in self.listed:
            return self.listed[directory]
        found: list[_Block] = []
        for path in _configuration_files(directory):
            found.extend(_Block(path, block) for block in self.file(path).get("blocks", []))
        self.listed[directory] = found
        return found


def _is_local(source: Any) -> bool:
    return isinstance(source, str) and source.startswith(("./", "../"))


def _instance_suffix(key: Any) -> str:
    # a key is quoted as Terraform quotes it: an address is one line, and readable back
    return f"[{key}]" if isinstance(key, int) else f"[{hcl_string(str(key))}]"


def _instances(block: _Block, scope: Scope,
               outer: int = 1) -> list[tuple[str, dict[str, Any]]] | Unknown:
    """(address suffix, bindings) per instance of a block with count or for_each, in a module
    that is itself one of `outer` instances (of its call and the calls above it)."""
    attrs = block.body["attrs"]
    key = "count" if "count" in attrs else "for_each" if "for_each" in attrs else None
    if key is None:
        return [("", {})]
    try:
        found = _count(attrs[key], scope) if key == "count" else _for_each(attrs[key], scope)
    except LimitError as exc:  # the budget ran out walking for_each's elements
        note_limit(scope.context, str(attrs[key]), exc)
        return Unknown(str(attrs[key]), str(exc))
    if isinstance(found, Unknown):
        return found
    size = found if isinstance(found, (int, float)) else len(found)
    if key == "count" and not 0 <= size <= MAX_INSTANCES:
        reason = (f"count {_shown(size)} is outside 0 to {MAX_INSTANCES}, the instances "
                  "connbudget expands")
    elif size > MAX_INSTANCES:
        reason = (f"for_each has {size} elements, more than the {MAX_INSTANCES} instances "
                  "connbudget expands")
    elif size * outer > MAX_INSTANCES:
        reason = (f"{key} makes {size:,} instances inside modules expanded {outer:,} times: "
                  f"{size * outer:,} in all, more than the {MAX_INSTANCES:,} connbudget expands")
    elif isinstance(found, (int, float)):
        return [(f"[{index}]", {"count.index": index}) for index in range(int(found))]
    else:
        return [(_instance_suffix(k), {"each": {"key": k, "value": v}}) for k, v in found]
    scope.context.note_at(block.file, block.body["lines"].get(key, block.line),
                          f"{reason}; the instances are unknown")
    return Unknown(str(attrs[key]), reason)


def _count(text: str, scope: Scope) -> int | float | Unknown:
    count = evaluate_raw(text, scope)
    if isinstance(count, Unknown):
        return count
    try:
        return to_number(count)
    except EvalError:
        return Unknown(str(text), "count is not a number")


def _for_each(text: str, scope: Scope) -> list[tuple[Any, Any]] | Unknown:
    each = evaluate_raw(text, scope)
    if isinstance(each, Unknown):
        return each
    if isinstance(each, list) and contains_unknown(each):
        return merge_unknown(text, each)
    if isinstance(each, dict):
        return [(key, each[key]) for key in sorted(each)]
    if isinstance(each, list) and all(isinstance(item, str) for item in each):
        return [(item, item) for item in sorted(set(each))]
    return Unknown(str(text), "for_each is not a map or a set of strings")


def _shown(number: float) -> str:
    return f"{number:.3g}" if isinstance(number, float) else str(number)


def _evaluate_body(body: Body, scope: Scope, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name, raw in body["attrs"].items():
        if name not in skip:
            result[name] = evaluate_raw(raw, scope)
    for block in body["blocks"]:
        if block["type"] in _META_BLOCKS:
            continue
        if block["type"] == "dynamic" and block["labels"]:
            _dynamic(block, scope, result)
        else:
            nested = result.setdefault(block["type"], [])
            if isinstance(nested, list):
                nested.append(_evaluate_body(block, scope))
    return result


def _dynamic(block: Body, scope: Scope, result: dict[str, Any]) -> None:
    label = block["labels"][0]
    iterator = str(block["attrs"].get("iterator", label)).strip()
    content = next((inner for inner in block["blocks"] if inner["type"] == "content"), None)
    each = evaluate_raw(block["attrs"].get("for_each"), scope)
    if content is None:
        return
    if isinstance(each, Unknown) or not isinstance(each, (list, dict)):
        unknown = each if isinstance(each, Unknown) else Unknown(
            str(block["attrs"].get("for_each")), "dynamic block for_each is not a collection")
        try:
            result[label] = merge_unknown(f"dynamic {label}", [unknown, result.get(label)])
        except LimitError as exc:
            result[label] = Unknown(f"dynamic {label}", str(exc))
        return
    items = list(enumerate(each)) if isinstance(each, list) else sorted(each.items())
    nested = result.setdefault(label, [])
    if isinstance(nested, list):
        for key, value in items:
            nested.append(_evaluate_body(content, scope.bind(**{
                str(iterator): {"key": key, "value": value}})))


class ModuleContext(Context):
    def __init__(self, loader: _Loader, directory: str, root_directory: str, address: str,
                 inputs: dict[str, Any], stack: tuple[str, ...],
                 call: CallSite | None = None, instances: int = 1,
                 settings: dict[str, Setting] | None = None) -> None:
        self.loader = loader
        self.instances = instances  # of this module: its call's and the calls' above it
        self.call = call
        self.settings = settings or {}  # a root's: where its variables are set
        self.directory = directory
        self.root_directory = root_directory
        self.address = address
        self.prefix = f"{address}." if address else ""
        self.stack = stack
        self.blocks = loader.blocks(directory)
        self.resources: list[Resource] = []
        self.data_sources: list[Resource] = []
        self.calls: list[ModuleCall] = []
        self._values: dict[str, Any] = {}
        self.each_key: Any = None  # an instance of a module call with for_each: its key
        self._locals_raw: dict[str, Any] = {}
        self._locals: dict[str, Any] = {}
        self._pending: set[str] = set()
        self._children: dict[str, list[tuple[str, ModuleContext]] | Unknown | None] = {}
        self._outputs: dict[str, Any] | None = None
        self._declared: set[str] = set()
        for block in self.blocks:
            kind = block.body["type"]
            if kind == "variable" and block.labels:
                self._declare(block.labels[0], block.body, inputs)
            elif kind == "locals":
                self._locals_raw.update(block.body["attrs"])

    def _declare(self, name: str, body: Body, inputs: dict[str, Any]) -> None:
        self._declared.add(name)
        attrs = body["attrs"]
        if name in inputs:
            value = inputs[name]
        elif "default" in attrs:
            value = evaluate_raw(attrs["default"], Scope(Context()))
        else:
            return
        value = convert(attrs.get("type"), value)
        if names_a_secret(name) or (
                "sensitive" in attrs
                and evaluate_raw(attrs["sensitive"], Scope(Context())) is True):
            value = concealed(value, f"variable {name} is sensitive", f"var.{name}")
        self._values[name] = value

    def note(self, text: str, message: str) -> None:
        self.loader.notes[(text, message)] = None

    def note_at(self, file: str, line: int, message: str) -> None:
        self.loader.located[InputError(file, line, message)] = None

    def var(self, name: str, text: str) -> Any:
        if name in self._values:
            return self._values[name]
        if name in self._declared:
            return Unknown(text, f"variable {name} has no value")
        return Unknown(text, f"variable {name} is not declared")

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

    def module_value(self, name: str, text: str) -> Any:
        children = self.children(name)
        if children is None or isinstance(children, Unknown):
            reason = children.reason if isinstance(children, Unknown) else \
                f"reference to module.{name}"
            return Unknown(text, reason, (f"{self.prefix}module.{name}",))
        outputs = [(suffix, child.each_key, child.outputs()) for suffix, child in children]
        if len(outputs) == 1 and outputs[0][0] == "":
            return outputs[0][2]
        if outputs and outputs[0][0].startswith('["'):
            return {key: value for _, key, value in outputs}
        return [value for _, _, value in outputs]

    def outputs(self) -> dict[str, Any]:
        if self._outputs is None:
            self._outputs = {}
            for block in self.blocks:
                if block.body["type"] == "output" and block.labels:
                    raw = block.body["attrs"].get("value")
                    self._outputs[block.labels[0]] = evaluate_raw(raw, Scope(self))
        return self._outputs

    def children(self, name: str) -> list[tuple[str, ModuleContext]] | Unknown | None:
        """The loaded instances of local module `name`; None for a remote module."""
        if name in self._children:
            return self._children[name]
        block = next((b for b in self.blocks if b.body["type"] == "module" and b.labels
                      and b.labels[0] == name), None)
        if block is None:
            return None
        self._children[name] = Unknown(f"module.{name}", f"module.{name} depends on itself")
        self._children[name] = self._call(name, block)
        return self._children[name]

    def _call(self, name: str, block: _Block) -> list[tuple[str, ModuleContext]] | Unknown | None:
        attrs = block.body["attrs"]
        scope = Scope(self)
        source = evaluate_raw(attrs.get("source"), scope)
        instances = _instances(block, scope, self.instances)
        if isinstance(instances, Unknown):
            instances = [("", {"count.index": instances, "each": instances})]
        target = os.path.normpath(os.path.join(self.directory, str(source)))
        shown = f"source {source}"
        if not _is_local(source):
            installed = self.loader.installed(self.root_directory, self._key(name))
            version = evaluate_raw(attrs.get("version"), scope)
            for suffix, bindings in instances:
                inputs = _evaluate_body(block.body, scope.bind(**bindings), _MODULE_META)
                self.calls.append(ModuleCall(
                    f"{self.prefix}module.{name}{suffix}", to_string(source)
                    if isinstance(source, (str, int, float)) else str(attrs.get("source")),
                    version if isinstance(version, str) else None, inputs, block.file,
                    block.line, block.end_line, root=self.root_directory, body=block.body,
                    source_dir=installed or "", settings=self.settings))
            if installed is None:
                return None
            # `terraform init` put its source in the tree: read it like a local module (a
            # remote address may carry a token, so the messages name the directory only)
            target, shown = installed, f"{_MANIFEST} directory {installed}"
        real = os.path.realpath(target)
        problem = None
        outside = confine.outside(target, (self.root_directory,))
        if outside is not None:
            problem = f"module {name}: {shown} is {outside}"
        elif not os.path.isdir(target):
            problem = f"module {name}: {shown} is not a directory"
        elif not _has_tf_files(target):
            problem = f"module {name}: {shown} holds no .tf files"
        elif real in self.stack:
            problem = f"module {name}: {shown} calls itself (module cycle)"
        elif len(self.stack) > _MAX_MODULE_DEPTH:
            problem = f"module {name}: modules nested more than {_MAX_MODULE_DEPTH} deep"
        if problem is not None:
            error = InputError(block.file, block.line, problem)
            if error not in self.loader.errors:  # a module shared by two roots: one error
                self.loader.errors.append(error)
            return Unknown(f"module.{name}", problem)
        try:
            spend(_INSTANCE_STEPS * len(instances))
        except LimitError as exc:
            note_limit(self, str(attrs.get("source")), exc)
            return Unknown(f"module.{name}", str(exc))
        loaded: list[tuple[str, ModuleContext]] = []
        for suffix, bindings in instances:
            inputs = _evaluate_body(block.body, scope.bind(**bindings), _MODULE_META)
            child = ModuleContext(self.loader, target, self.root_directory,
                                  f"{self.prefix}module.{name}{suffix}", inputs,
                                  (*self.stack, real),
                                  CallSite(block.file, block.line, dict(block.body["lines"])),
                                  self.instances * len(instances))
            each = bindings.get("each")
            child.each_key = each.get("key") if isinstance(each, dict) else None
            loaded.append((suffix, child))
        for _, child in loaded:
            child.load()
        return loaded

    def _key(self, name: str) -> str:
        """The call's key in modules.json: the names of the calls that lead to it, dotted."""
        return ".".join([*re.findall(r"module\.([\w-]+)", self.address), name])

    def load(self) -> None:
        for block in self.blocks:
            kind = block.body["type"]
            if kind == "resource" and len(block.labels) == 2:
                self._resource(block)
            elif kind == "data" and len(block.labels) == 2 and not self.address:
                self._data(block)
            elif kind == "module" and block.labels:
                self.children(block.labels[0])

    def _resource(self, block: _Block) -> None:
        type_, name = block.labels
        attrs = block.body["attrs"]
        scope = Scope(self)
        instances = _instances(block, scope, self.instances)
        unknown_expansion = None
        if isinstance(instances, Unknown):
            unknown_expansion = instances
            instances = [("", {"count.index": instances, "each": instances})]
        for suffix, bindings in instances:
            values = _evaluate_body(block.body, scope.bind(**bindings), _RESOURCE_META)
            if unknown_expansion is not None:
                values["count" if "count" in attrs else "for_each"] = unknown_expansion
            self.resources.append(Resource(
                type_, name, f"{self.prefix}{type_}.{name}{suffix}", values, block.file,
                block.line, block.end_line, self.address, block.body,
                root=self.root_directory, call=self.call, settings=self.settings))

    def _data(self, block: _Block) -> None:
        """A root module's data source, as written (count and for_each are not expanded)."""
        type_, name = block.labels
        values = _evaluate_body(block.body, Scope(self), _RESOURCE_META)
        self.data_sources.append(Resource(
            type_, name, f"data.{type_}.{name}", values, block.file, block.line,
            block.end_line, "", dict(block.body["lines"]), root=self.root_directory))

    def tree(self) -> list[ModuleContext]:
        found: list[ModuleContext] = [self]
        for children in self._children.values():
            if isinstance(children, list):
                for _, child in children:
                    found.extend(child.tree())
        return found


_INTEGER = re.compile(r"-?[0-9]+")


def setting(path: str, body: Body, name: str) -> Setting:
    """Where attribute `name` of a parsed file sets its value."""
    span = body.get("spans", {}).get(name)
    if not span:
        return Setting(path, body.get("lines", {}).get(name, 0))
    line, column, _, end_line, end_column, _ = span
    if end_line == line and _INTEGER.fullmatch(str(body.get("attrs", {}).get(name, ""))):
        return Setting(path, line, column, end_column)
    return Setting(path, line)


def _tfvars(loader: _Loader, directory: str, var_files: list[str], secret: set[str],
            ) -> tuple[dict[str, Any], dict[str, Setting]]:
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        names = []
    paths = [os.path.normpath(os.path.join(directory, name))
             for name in ("terraform.tfvars", "terraform.tfvars.json") if name in names]
    paths += [os.path.normpath(os.path.join(directory, name)) for name in names
              if name.endswith((".auto.tfvars", ".auto.tfvars.json"))]
    values: dict[str, Any] = {}
    settings: dict[str, Setting] = {}
    for path in [*paths, *(path for path in var_files if path not in secret)]:
        body = loader.file(path)
        for name, raw in body.get("attrs", {}).items():
            values[name] = evaluate_raw(raw, Scope(Context()))
            settings[name] = setting(path, body, name)
    # A var-file from outside the scanned tree (a CI job's secrets): its strings are
    # sensitive, and never cached; its numbers and bools are read as they are, and no fix
    # edits it. One in the tree (env/production.tfvars) is read like the code beside it.
    for path in var_files:
        if path in secret:
            why = f"a value of var-file {os.path.basename(path)}"
            for name, raw in loader.file(path, cache=False).get("attrs", {}).items():
                values[name] = mark(evaluate_raw(raw, Scope(Context())), why)
                settings.pop(name, None)
    return values, settings


def _local_calls(loader: _Loader, directory: str) -> set[str]:
    calls = set()
    for block in loader.blocks(directory):
        if block.body["type"] != "module":
            continue
        source = evaluate_raw(block.body["attrs"].get("source"), Scope(Context()))
        if _is_local(source):
            calls.add(os.path.realpath(os.path.join(directory, source)))
    return calls


def _roots(loader: _Loader, dirs: list[str]) -> list[str]:
    """The listed directories that no other listed directory calls as a local module."""
    real = {directory: os.path.realpath(directory) for directory in dirs}
    calls = {directory: _local_calls(loader, directory) for directory in dirs}
    called_by: dict[str, list[str]] = {}
    for directory in dirs:
        for target in calls[directory]:
            called_by.setdefault(target, []).append(directory)
    roots = []
    for directory in dirs:
        callers = [other for other in called_by.get(real[directory], []) if other != directory
                   and real[other] != real[directory]]
        if not any(real[other] not in calls[directory] for other in callers):
            roots.append(directory)
    return roots


@dataclass(frozen=True)
class Unit:
    """A root configuration someone else gives the variables of (a Terragrunt unit): `root`
    names it (the unit's directory), `directory` holds the module it runs, `inputs` sets its
    declared variables (an Unknown when they cannot be evaluated: every one is then unknown)
    and `settings` says where each is set."""

    root: str
    directory: str
    inputs: dict[str, Any] | Unknown
    settings: dict[str, Setting]


def load_terraform(dirs: list[str], var_files: list[str], cache: bool = True,
                   secret_var_files: Iterable[str] | None = None,
                   units: tuple[Unit, ...] = ()) -> TerraformModel:
    """Every resource instance and remote module call under the root modules `dirs`, and of
    the configurations `units`. `secret_var_files` (all of `var_files` when None) hold a CI
    job's secrets."""
    secret = set(var_files if secret_var_files is None else secret_var_files)
    loader = _Loader(cache)
    model = TerraformModel()
    budget = Budget()
    set_budget(budget)
    reset_marks()
    try:
        with cached_scan([*dirs, *(u.directory for u in units), *var_files], cache):
            preparse([path for directory in dict.fromkeys(dirs)
                      for path in _configuration_files(directory)], cache)
            _load(loader, model, dirs, var_files, secret)
            for unit in units:
                _load_unit(loader, model, unit, var_files, secret)
    finally:
        set_budget(None)
        forget_ready()
    if budget.exhausted and not budget.reported:
        first = next(iter(loader.bodies), ".")
        loader.errors.append(InputError(first, 0, f"{budget.exhausted}; the values left are "
                                        "unknown"))
    for text, message in loader.notes:
        file, line = _locate(loader, text)
        loader.errors.append(InputError(file, line, message))
    loader.errors.extend(loader.located)
    model.errors = loader.errors
    model.comments = {path: [Comment(path, line, column, text)
                             for line, column, text in body.get("comments", [])]
                      for path, body in loader.bodies.items()}
    return model


def _configuration_files(directory: str) -> list[str]:
    """The .tf and .tf.json files of `directory`, sorted, as "main.tf", not "./main.tf"."""
    try:
        names = sorted(name for name in os.listdir(directory) if name.endswith(TF_SUFFIXES))
    except OSError:
        return []
    return [os.path.normpath(os.path.join(directory, name)) for name in names]


def _load_root(loader: _Loader, model: TerraformModel, directory: str, root: str,
               values: dict[str, Any], settings: dict[str, Setting]) -> None:
    context = ModuleContext(loader, directory, root, "", values,
                            (os.path.realpath(directory),), settings=settings)
    context.load()
    model.data_sources.extend(context.data_sources)
    model.outputs[root] = context.outputs()
    for found in context.tree():
        model.resources.extend(found.resources)
        model.modules.extend(found.calls)


def _load(loader: _Loader, model: TerraformModel, dirs: list[str],
          var_files: list[str], secret: set[str]) -> None:
    seen: set[str] = set()
    for directory in _roots(loader, [os.path.normpath(d) for d in dirs]):
        real = os.path.realpath(directory)
        if real in seen:
            continue
        seen.add(real)
        values, settings = _tfvars(loader, directory, var_files, secret)
        _load_root(loader, model, directory, directory, values, settings)
    for path in var_files:
        loader.file(path, cache=path not in secret)


def _load_unit(loader: _Loader, model: TerraformModel, unit: Unit, var_files: list[str],
               secret: set[str]) -> None:
    """A unit's root: its inputs as the variables' values (Terragrunt passes them as
    TF_VAR_ variables, so the module's tfvars files and the var-files win over them)."""
    inputs = unit.inputs
    if isinstance(inputs, Unknown):
        declared = [b.labels[0] for b in loader.blocks(unit.directory)
                    if b.body["type"] == "variable" and b.labels]
        inputs = dict.fromkeys(declared, inputs)
    values, settings = _tfvars(loader, unit.directory, var_files, secret)
    _load_root(loader, model, unit.directory, unit.root, {**inputs, **values},
               {**unit.settings, **settings})


def _attributes(body: Body) -> Iterator[tuple[str, int]]:
    for name, text in body.get("attrs", {}).items():
        yield text, body.get("lines", {}).get(name, body.get("line", 1))
    for block in body.get("blocks", []):
        yield from _attributes(block)


def _locate(loader: _Loader, text: str) -> tuple[str, int]:
    """The file and line of the attribute whose expression holds `text`."""
    for path, body in loader.bodies.items():
        for raw, line in _attributes(body):
            if text in raw:
                return path, line
    return next(iter(loader.bodies), "."), 1


def _has_tf_files(directory: str) -> bool:
    try:
        return any(entry.name.endswith(TF_SUFFIXES) and entry.is_file()
                   for entry in os.scandir(directory))
    except OSError:
        return False


def read(paths: list[str], context: ReadContext) -> Read:
    """The `terraform` input kind: the root modules of the directories holding `paths`."""
    dirs = list(dict.fromkeys(os.path.dirname(path) or "." for path in paths))
    model = load_terraform(dirs, list(context.var_files), cache=context.cache,
                           secret_var_files=context.secret_var_files)
    return Read(model, model.errors, model.comments)
