"""Kubernetes manifests: Deployments, StatefulSets, HPAs, KEDA ScaledObjects and ConfigMaps.

YAML is read as a stream of parser events (libyaml when available) and composed here, without
recursion, into plain values that remember their line. Limits keep hostile input cheap: file
size, flow nesting, alias count and the size the aliases would expand to (billion laughs).
Helm templates are not YAML and are reported as such. Secret values are never read.
"""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from connbudget.report import InputError

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_FLOW_DEPTH = 100
MAX_DEPTH = 200
MAX_ALIASES = 10_000
MAX_EXPANDED_NODES = 1_000_000
DEFAULT_MAX_SURGE = "25%"
KEDA_DEFAULT_MAX_REPLICAS = 100
KEDA_DEFAULT_MIN_REPLICAS = 0
HELM_HINT = ("Helm template: render it first, e.g. helm template . > rendered.yaml && "
             "connbudget capacity rendered.yaml")

_Parser: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_HELM = re.compile(r"\{\{-?\s*(?:\.|\$|include\b|template\b|if\b|else\b|end\b|range\b|with\b|"
                   r"define\b|toYaml\b|tpl\b|printf\b|default\b|required\b|quote\b|-)")
_WORKLOAD_KINDS = ("Deployment", "StatefulSet")


class LMap(dict[str, Any]):
    """A YAML mapping with the line of the mapping and of each key (1-based)."""

    line: int
    lines: dict[str, int]


class LList(list[Any]):
    """A YAML sequence with the line of the sequence and of each item (1-based)."""

    line: int
    lines: list[int]


@dataclass(frozen=True)
class EnvVar:
    name: str
    value: str | None  # None when not readable here (Secret, fieldRef, missing ConfigMap)
    source: str  # "value", "secretKeyRef", "configMapKeyRef", "envFrom configMap NAME", ...
    secret: bool  # from a Secret: the value is never read
    file: str
    line: int
    reference: str = ""  # e.g. "secret app-db key password", "configMap app-config key POOL"


@dataclass(frozen=True)
class Container:
    name: str
    image: str
    env: tuple[EnvVar, ...]  # envFrom first, then env (a later name wins, as in Kubernetes)
    command: tuple[str, ...]
    args: tuple[str, ...]
    unresolved: tuple[str, ...]  # envFrom/configMapKeyRef sources not found in the inputs
    file: str
    line: int

    def env_values(self) -> dict[str, str | None]:
        """Name -> value as the container sees it (last definition wins)."""
        return {var.name: var.value for var in self.env}

    def env_var(self, name: str) -> EnvVar | None:
        found = None
        for var in self.env:
            if var.name == name:
                found = var
        return found


@dataclass(frozen=True)
class Surge:
    value: int | str  # pods (int) or a percentage string ("25%")
    is_default: bool
    file: str
    line: int
    note: str = ""  # e.g. "StatefulSets do not surge", "strategy Recreate"

    def pods(self, replicas: int) -> int:
        """Extra pods during a rollout: a percentage is rounded up, as Kubernetes does."""
        if isinstance(self.value, int):
            return self.value
        return math.ceil(replicas * int(self.value.rstrip("%")) / 100)


@dataclass(frozen=True)
class Workload:
    kind: str  # "Deployment" | "StatefulSet"
    name: str
    namespace: str | None
    replicas: int | None  # None: not set (Kubernetes default 1, or owned by an autoscaler)
    replicas_line: int
    containers: tuple[Container, ...]
    max_surge: Surge
    file: str
    line: int
    unknown: tuple[str, ...] = ()  # values present but not usable (e.g. replicas: "{{ x }}")


@dataclass(frozen=True)
class Autoscaler:
    kind: str  # "HorizontalPodAutoscaler" | "ScaledObject"
    name: str
    namespace: str | None
    target_kind: str
    target_name: str
    min_replicas: int | None
    max_replicas: int | None
    max_is_default: bool  # KEDA's maxReplicaCount defaults to 100
    file: str
    line: int
    max_line: int


@dataclass(frozen=True)
class ConfigMap:
    name: str
    namespace: str | None
    data: dict[str, str]
    lines: dict[str, int]
    file: str
    line: int


@dataclass
class KubernetesInputs:
    workloads: list[Workload] = field(default_factory=list)
    autoscalers: list[Autoscaler] = field(default_factory=list)
    config_maps: list[ConfigMap] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)
    files: list[str] = field(default_factory=list)


class _Refused(Exception):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


# ---------------------------------------------------------------- safe YAML loading

_RESOLVER = yaml.resolver.Resolver()
_CONSTRUCTOR = yaml.constructor.SafeConstructor()


def _scalar(event: yaml.ScalarEvent) -> Any:
    implicit = event.implicit[0] if event.implicit else False
    tag = event.tag if event.tag and event.tag != "!" else _RESOLVER.resolve(  # type: ignore[no-untyped-call]
        yaml.ScalarNode, event.value, (implicit, False))
    if tag in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:bool", "tag:yaml.org,2002:null",
               "tag:yaml.org,2002:float"):
        node = yaml.ScalarNode(tag, event.value)
        try:
            return _CONSTRUCTOR.construct_object(node)
        except (yaml.YAMLError, ValueError):
            return event.value
    return event.value


def _flow_depth(text: str) -> int:
    """An upper bound of flow-collection nesting; libyaml is quadratic in it."""
    depth = deepest = 0
    for char in text:
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}" and depth:
            depth -= 1
    return deepest


class _LineIndex:
    """Line numbers as editors count them: YAML also breaks lines at a lone \r, files do not."""

    def __init__(self, text: str) -> None:
        self.breaks = [match.start() for match in re.finditer("\n", text)]

    def line(self, mark: Any) -> int:
        return bisect.bisect_left(self.breaks, mark.index) + 1


def _compose(text: str, lines: _LineIndex) -> Iterator[Any]:
    """Documents of a YAML stream as LMap / LList / scalars; aliases share one object."""
    stack: list[_Open] = []
    anchors: dict[str, tuple[Any, int]] = {}
    open_anchors: set[str] = set()
    aliases = 0
    expanded = 0  # nodes the current document would have with every alias expanded
    for event in yaml.parse(text, Loader=_Parser):
        line = lines.line(event.start_mark) if event.start_mark else 0
        if isinstance(event, yaml.DocumentStartEvent):
            anchors.clear()
            expanded = 0
            continue
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            if len(stack) >= MAX_DEPTH:
                raise _Refused(line, f"YAML nested deeper than {MAX_DEPTH} levels")
            expanded = _grow(expanded, 1, line)
            stack.append(_Open(LMap() if isinstance(event, yaml.MappingStartEvent) else LList(),
                               line, event.anchor))
            if event.anchor:
                open_anchors.add(event.anchor)
            continue
        if isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            done = stack.pop()
            value = done.finish()
            if done.anchor:
                open_anchors.discard(done.anchor)
                anchors[done.anchor] = (value, done.size)
            size, line = done.size, value.line
        elif isinstance(event, yaml.AliasEvent):
            aliases += 1
            if aliases > MAX_ALIASES:
                raise _Refused(line, f"more than {MAX_ALIASES} YAML aliases")
            if event.anchor in open_anchors:
                raise _Refused(line, f"recursive YAML alias *{event.anchor}")
            if event.anchor not in anchors:
                raise _Refused(line, f"undefined YAML alias *{event.anchor}")
            value, size = anchors[event.anchor]
            expanded = _grow(expanded, size, line)
        elif isinstance(event, yaml.ScalarEvent):
            value, size = _scalar(event), 1
            if event.anchor:
                anchors[event.anchor] = (value, size)
            expanded = _grow(expanded, size, line)
        else:
            continue
        if stack:
            stack[-1].add(value, size, line)
        else:
            yield value


def _grow(expanded: int, size: int, line: int) -> int:
    expanded += size
    if expanded > MAX_EXPANDED_NODES:
        raise _Refused(line, f"YAML aliases expand to more than {MAX_EXPANDED_NODES} nodes")
    return expanded


class _Open:
    """A mapping or sequence being composed."""

    def __init__(self, value: LMap | LList, line: int, anchor: str | None) -> None:
        self.value = value
        value.line = line
        if isinstance(value, LMap):
            value.lines = {}
        else:
            value.lines = []
        self.anchor = anchor
        self.size = 1
        self.key: tuple[Any, int] | None = None

    def add(self, item: Any, size: int, line: int) -> None:
        self.size += size
        if isinstance(self.value, LList):
            self.value.append(item)
            self.value.lines.append(line)
        elif self.key is None:
            self.key = (item, line)
        else:
            key, key_line = self.key
            self.key = None
            name = key if isinstance(key, str) else _text(key)
            if name == "<<" and isinstance(item, (LMap, LList)):
                _merge(self.value, item)
            else:
                self.value[name] = item
                self.value.lines[name] = key_line

    def finish(self) -> LMap | LList:
        return self.value


def _merge(container: LMap, value: LMap | LList) -> None:
    """YAML merge keys: explicit keys win over merged ones."""
    sources = [value] if isinstance(value, LMap) else [v for v in value if isinstance(v, LMap)]
    for source in sources:
        for key, item in source.items():
            if key not in container:
                container[key] = item
                container.lines[key] = source.lines.get(key, source.line)


def _helm_line(text: str) -> int:
    for number, line in enumerate(text.splitlines(), start=1):
        if _HELM.search(line):
            return number
    return 0


def read_documents(text: str, file: str) -> tuple[list[Any], list[InputError]]:
    """Every document of a YAML file, or the located reason it cannot be read.

    Helm template syntax in a chart's templates/ directory, or in a file that does not parse,
    is reported as a Helm template; a values.yaml that merely holds `{{ }}` strings is YAML.
    """
    helm = _helm_line(text)
    if helm and "templates" in re.split(r"[\\/]", file):
        return [], [InputError(file, helm, HELM_HINT)]
    if _flow_depth(text) > MAX_FLOW_DEPTH:
        return [], [InputError(file, 1, f"YAML flow collections nested deeper than "
                                        f"{MAX_FLOW_DEPTH} levels")]
    documents: list[Any] = []
    lines = _LineIndex(text)
    try:
        for document in _compose(text, lines):
            documents.append(document)
    except _Refused as refused:
        return documents, [InputError(file, refused.line, refused.message)]
    except yaml.MarkedYAMLError as error:
        if helm:
            return documents, [InputError(file, helm, HELM_HINT)]
        mark = error.problem_mark or error.context_mark
        line = lines.line(mark) if mark else 1
        return documents, [InputError(file, line, f"invalid YAML: {error.problem or error}")]
    except yaml.YAMLError as error:
        return documents, [InputError(file, 1, f"invalid YAML: {error}")]
    return documents, []


# ---------------------------------------------------------------- manifests


def _map(value: Any) -> LMap:
    if isinstance(value, LMap):
        return value
    empty = LMap()
    empty.line = 0
    empty.lines = {}
    return empty


def _list(value: Any) -> LList:
    if isinstance(value, LList):
        return value
    empty = LList()
    empty.line = 0
    empty.lines = []
    return empty


def _items(value: Any) -> list[tuple[Any, int]]:
    """A sequence's items with their lines; anything else is empty."""
    items = _list(value)
    return list(zip(items, items.lines, strict=True))


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)


def _count(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _line(mapping: LMap, key: str) -> int:
    return mapping.lines.get(key, mapping.line)


def _metadata(document: LMap) -> tuple[str, str | None]:
    metadata = _map(document.get("metadata"))
    namespace = metadata.get("namespace")
    return _text(metadata.get("name")), _text(namespace) if namespace is not None else None


def _config_map(document: LMap, file: str) -> ConfigMap:
    name, namespace = _metadata(document)
    data = _map(document.get("data"))
    return ConfigMap(name, namespace, {key: _text(value) for key, value in data.items()},
                     dict(data.lines), file, document.line)


def _surge(document: LMap, kind: str, file: str) -> Surge:
    spec = _map(document.get("spec"))
    if kind == "StatefulSet":
        return Surge(0, True, file, spec.line, "StatefulSets replace pods, they do not surge")
    strategy = _map(spec.get("strategy"))
    if _text(strategy.get("type")) == "Recreate":
        return Surge(0, False, file, _line(strategy, "type"), "strategy Recreate")
    rolling = _map(strategy.get("rollingUpdate"))
    raw = rolling.get("maxSurge")
    if raw is None:
        return Surge(DEFAULT_MAX_SURGE, True, file, spec.line, "Kubernetes default")
    line = _line(rolling, "maxSurge")
    count = _count(raw)
    if count is not None:
        return Surge(count, False, file, line)
    text = _text(raw).strip()
    if re.fullmatch(r"\d+%", text):
        return Surge(text, False, file, line)
    return Surge(DEFAULT_MAX_SURGE, True, file, line,
                 f"maxSurge '{text}' is not a number or percentage; Kubernetes default assumed")


def _workload(document: LMap, kind: str, file: str) -> Workload:
    name, namespace = _metadata(document)
    spec = _map(document.get("spec"))
    raw = spec.get("replicas")
    replicas = _count(raw)
    unknown = (f"replicas '{_text(raw)}' is not a number",) if raw is not None and \
        replicas is None else ()
    pod = _map(_map(spec.get("template")).get("spec"))
    containers = tuple(_container(item, file, line) for item, line in
                       _items(pod.get("containers")) if isinstance(item, LMap))
    return Workload(kind=kind, name=name, namespace=namespace, replicas=replicas,
                    replicas_line=_line(spec, "replicas"), containers=containers,
                    max_surge=_surge(document, kind, file), file=file, line=document.line,
                    unknown=unknown)


def _container(item: LMap, file: str, line: int) -> Container:
    env: list[EnvVar] = []
    for source, source_line in _items(item.get("envFrom")):
        env.extend(_env_from(_map(source), file, source_line))
    for var, var_line in _items(item.get("env")):
        found = _env_var(_map(var), file, var_line)
        if found is not None:
            env.append(found)
    return Container(name=_text(item.get("name")), image=_text(item.get("image")),
                     env=tuple(env),
                     command=tuple(_text(v) for v in _list(item.get("command"))),
                     args=tuple(_text(v) for v in _list(item.get("args"))),
                     unresolved=(), file=file, line=line)


# A reference to a ConfigMap key is resolved once every file is read.
_CONFIG_MAP_REF = "configMapKeyRef"
_ENV_FROM_CONFIG_MAP = "envFrom configMap"


def _env_var(var: LMap, file: str, line: int) -> EnvVar | None:
    name = _text(var.get("name"))
    if not name:
        return None
    if "value" in var:
        return EnvVar(name, _text(var["value"]), "value", False, file, line)
    source = _map(var.get("valueFrom"))
    if "secretKeyRef" in source:
        ref = _map(source["secretKeyRef"])
        return EnvVar(name, None, "secretKeyRef", True, file, line,
                      f"secret {_text(ref.get('name'))} key {_text(ref.get('key'))}")
    if _CONFIG_MAP_REF in source:
        ref = _map(source[_CONFIG_MAP_REF])
        return EnvVar(name, None, _CONFIG_MAP_REF, False, file, line,
                      f"configMap {_text(ref.get('name'))} key {_text(ref.get('key'))}")
    kinds = [key for key in source if key != _CONFIG_MAP_REF]
    return EnvVar(name, None, kinds[0] if kinds else "valueFrom", False, file, line)


def _env_from(source: LMap, file: str, line: int) -> list[EnvVar]:
    prefix = _text(source.get("prefix"))
    if "secretRef" in source:
        name = _text(_map(source["secretRef"]).get("name"))
        return [EnvVar(f"{prefix}*", None, f"envFrom secret {name}", True, file, line,
                       f"secret {name}")]
    if "configMapRef" in source:
        name = _text(_map(source["configMapRef"]).get("name"))
        return [EnvVar(f"{prefix}*", None, f"{_ENV_FROM_CONFIG_MAP} {name}", False, file, line,
                       f"configMap {name}")]
    return []


def _resolve_env(container: Container, workload_namespace: str | None,
                 maps: Sequence[ConfigMap]) -> Container:
    def find(name: str) -> ConfigMap | None:
        for config_map in maps:
            if config_map.name == name and (config_map.namespace is None or
                                            workload_namespace is None or
                                            config_map.namespace == workload_namespace):
                return config_map
        return None

    env: list[EnvVar] = []
    unresolved: list[str] = []
    for var in container.env:
        if var.source.startswith(_ENV_FROM_CONFIG_MAP):
            name = var.source[len(_ENV_FROM_CONFIG_MAP) + 1:]
            found = find(name)
            if found is None:
                unresolved.append(f"configMap {name}")
                env.append(var)
                continue
            prefix = var.name[:-1]
            env.extend(EnvVar(prefix + key, value, var.source, False, found.file,
                              found.lines.get(key, found.line), f"configMap {name} key {key}")
                       for key, value in found.data.items())
        elif var.source == _CONFIG_MAP_REF:
            _, name, _, key = var.reference.split(" ", 3)
            found = find(name)
            if found is None or key not in found.data:
                unresolved.append(var.reference)
                env.append(var)
            else:
                env.append(EnvVar(var.name, found.data[key], var.source, False, var.file,
                                  var.line, var.reference))
        else:
            env.append(var)
    return Container(container.name, container.image, tuple(env), container.command,
                     container.args, tuple(unresolved), container.file, container.line)


def _autoscaler(document: LMap, kind: str, file: str) -> Autoscaler:
    name, namespace = _metadata(document)
    spec = _map(document.get("spec"))
    target = _map(spec.get("scaleTargetRef"))
    if kind == "HorizontalPodAutoscaler":
        max_key, min_key = "maxReplicas", "minReplicas"
        target_kind = _text(target.get("kind"))
    else:
        max_key, min_key = "maxReplicaCount", "minReplicaCount"
        target_kind = _text(target.get("kind")) or "Deployment"  # KEDA's default
    maximum = _count(spec.get(max_key))
    minimum = _count(spec.get(min_key))
    is_default = kind == "ScaledObject" and max_key not in spec
    if is_default:
        maximum = KEDA_DEFAULT_MAX_REPLICAS
    if kind == "ScaledObject" and min_key not in spec:
        minimum = KEDA_DEFAULT_MIN_REPLICAS
    return Autoscaler(kind=kind, name=name, namespace=namespace, target_kind=target_kind,
                      target_name=_text(target.get("name")), min_replicas=minimum,
                      max_replicas=maximum, max_is_default=is_default, file=file,
                      line=document.line, max_line=_line(spec, max_key))


def _collect(document: Any, file: str, found: KubernetesInputs) -> None:
    if not isinstance(document, LMap):
        return
    kind = _text(document.get("kind"))
    if kind == "List":
        for item in _list(document.get("items")):
            _collect(item, file, found)
    elif kind in _WORKLOAD_KINDS:
        found.workloads.append(_workload(document, kind, file))
    elif kind == "HorizontalPodAutoscaler" or (
            kind == "ScaledObject" and _text(document.get("apiVersion")).startswith("keda.sh/")):
        found.autoscalers.append(_autoscaler(document, kind, file))
    elif kind == "ConfigMap":
        found.config_maps.append(_config_map(document, file))


def load_kubernetes_texts(sources: Sequence[tuple[str, str]]) -> KubernetesInputs:
    """Manifests from (file name, text) pairs; envFrom ConfigMaps resolve across all of them."""
    found = KubernetesInputs()
    for file, text in sources:
        found.files.append(file)
        documents, errors = read_documents(text, file)
        found.errors.extend(errors)
        for document in documents:
            _collect(document, file, found)
    found.workloads = [
        Workload(w.kind, w.name, w.namespace, w.replicas, w.replicas_line,
                 tuple(_resolve_env(c, w.namespace, found.config_maps) for c in w.containers),
                 w.max_surge, w.file, w.line, w.unknown)
        for w in found.workloads]
    return found


def load_kubernetes(paths: Sequence[str]) -> KubernetesInputs:
    """Read YAML files; an unreadable or oversized file is a located error."""
    sources: list[tuple[str, str]] = []
    errors: list[InputError] = []
    for path in paths:
        try:
            with open(path, "rb") as handle:
                raw = handle.read(MAX_FILE_BYTES + 1)
        except OSError as error:
            errors.append(InputError(path, 0, f"cannot read: {error.strerror or error}"))
            continue
        if len(raw) > MAX_FILE_BYTES:
            errors.append(InputError(path, 0, f"larger than {MAX_FILE_BYTES // 1024 // 1024} MiB"))
            continue
        sources.append((path, raw.decode("utf-8-sig", errors="replace")))
    found = load_kubernetes_texts(sources)
    found.errors[:0] = errors
    return found
