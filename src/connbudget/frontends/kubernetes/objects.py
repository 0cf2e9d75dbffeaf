"""Workloads, autoscalers and ConfigMaps read from Kubernetes documents, env resolved as the
kubelet resolves it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from connbudget import confine
from connbudget.comments import may_suppress
from connbudget.errors import InputError
from connbudget.frontends.kubernetes.comments import comments
from connbudget.frontends.kubernetes.model import (
    _WORKLOAD_KINDS,
    DEFAULT_MAX_SURGE,
    KEDA_DEFAULT_MAX_REPLICAS,
    KEDA_DEFAULT_MIN_REPLICAS,
    Autoscaler,
    ConfigMap,
    Container,
    ContainerEnv,
    KubernetesInputs,
    Mount,
    Service,
    Surge,
    Volume,
    Workload,
)
from connbudget.frontends.kubernetes.safeyaml import (
    MAX_FILE_BYTES,
    LMap,
    as_list,
    as_map,
    insertion,
    read_documents,
    scalar_text,
)
from connbudget.frontends.pgbouncer.ini import load_pgbouncer_text
from connbudget.frontends.pgbouncer.model import chosen_release
from connbudget.kinds import Read, ReadContext
from connbudget.numbers import count

_map = as_map
_list = as_list


def _items(value: Any) -> list[tuple[Any, int]]:
    """A sequence's items with their lines; anything else is empty."""
    items = _list(value)
    return list(zip(items, items.lines, strict=True))



def _line(mapping: LMap, key: str) -> int:
    return mapping.lines.get(key, mapping.line)


def _metadata(document: LMap) -> tuple[str, str | None]:
    metadata = _map(document.get("metadata"))
    namespace = metadata.get("namespace")
    name = scalar_text(metadata.get("name"))
    return name, scalar_text(namespace) if namespace is not None else None


def _config_map(document: LMap, file: str) -> ConfigMap:
    name, namespace = _metadata(document)
    data = _map(document.get("data"))
    return ConfigMap(name, namespace, {key: scalar_text(value) for key, value in data.items()},
                     dict(data.lines), file, document.line, spans=dict(data.spans))


def _mounting_images(config_map: ConfigMap, workloads: Sequence[Workload]) -> list[str]:
    """The images of the PgBouncer containers whose pods mount the ConfigMap."""
    images = []
    for workload in workloads:
        if not _same_space(config_map.namespace, workload.namespace):
            continue
        volumes = {v.name for v in workload.volumes if v.config_map == config_map.name}
        images += [c.image for c in workload.containers
                   if "pgbouncer" in c.image.lower() and "exporter" not in c.image.lower()
                   and any(m.volume in volumes for m in c.mounts)]
    return images


def _pgbouncer_inis(config_map: ConfigMap, workloads: Sequence[Workload]) -> ConfigMap:
    """Its `*pgbouncer.ini` keys, read as the release of the PgBouncer that mounts it reads
    them (the newest release connbudget knows when none or several do)."""
    images = sorted(set(_mounting_images(config_map, workloads)))
    release = chosen_release(image=images[0]) if len(images) == 1 else None
    # a block scalar (`|`) starts on the line after its key
    inis = {key: load_pgbouncer_text(value, config_map.file, config_map.lines.get(key, 0) + 1,
                                     release)
            for key, value in config_map.data.items() if key.endswith("pgbouncer.ini")}
    return replace(config_map, pgbouncer=inis) if inis else config_map


def _same_space(left: str | None, right: str | None) -> bool:
    return left is None or right is None or left == right


_SURGE_PATH = ("spec", "strategy", "rollingUpdate", "maxSurge")


def _surge(document: LMap, kind: str, file: str) -> Surge:
    spec = _map(document.get("spec"))
    if kind == "StatefulSet":
        return Surge(0, True, file, spec.line, "StatefulSets replace pods, they do not surge")
    strategy = _map(spec.get("strategy"))
    if scalar_text(strategy.get("type")) == "Recreate":
        return Surge(0, False, file, _line(strategy, "type"), "strategy Recreate")
    rolling = _map(strategy.get("rollingUpdate"))
    raw = rolling.get("maxSurge")
    if raw is None:
        return Surge(DEFAULT_MAX_SURGE, True, file, spec.line, "Kubernetes default",
                     insert=insertion(document, _SURGE_PATH))
    line = _line(rolling, "maxSurge")
    span = rolling.spans.get("maxSurge")
    pods = count(raw)
    if pods is not None:
        return Surge(pods, False, file, line, span=span)
    text = scalar_text(raw).strip()
    if re.fullmatch(r"\d+%", text):
        return Surge(text, False, file, line, span=span)
    return Surge(DEFAULT_MAX_SURGE, True, file, line,
                 f"maxSurge '{text}' is not a number or percentage; Kubernetes default assumed")


def _workload(document: LMap, kind: str, file: str) -> Workload:
    name, namespace = _metadata(document)
    spec = _map(document.get("spec"))
    raw = spec.get("replicas")
    replicas = count(raw)
    unknown = (f"replicas '{scalar_text(raw)}' is not a number",) if raw is not None and \
        replicas is None else ()
    pod = _map(_map(spec.get("template")).get("spec"))
    containers = tuple(_container(item, file, line) for item, line in
                       _items(pod.get("containers")) if isinstance(item, LMap))
    return Workload(kind=kind, name=name, namespace=namespace, replicas=replicas,
                    replicas_line=_line(spec, "replicas"), containers=containers,
                    max_surge=_surge(document, kind, file), file=file, line=document.line,
                    unknown=unknown, pod_labels=_labels(
                        _map(_map(spec.get("template")).get("metadata")).get("labels")),
                    replicas_span=spec.spans.get("replicas"), volumes=_volumes(pod),
                    service_name=scalar_text(spec.get("serviceName")))


def _volumes(pod: LMap) -> tuple[Volume, ...]:
    """The pod's volumes that project ConfigMaps (a `configMap` volume, or a `projected` one's
    configMap sources)."""
    found = []
    for item, _ in _items(pod.get("volumes")):
        volume = _map(item)
        sources = [_map(volume.get("configMap"))] + [
            _map(_map(source).get("configMap"))
            for source in _list(_map(volume.get("projected")).get("sources"))]
        for source in sources:
            if source.get("name") is None:
                continue
            items = tuple((scalar_text(_map(i).get("key")), scalar_text(_map(i).get("path")))
                          for i in _list(source.get("items")))
            found.append(Volume(scalar_text(volume.get("name")), scalar_text(source["name"]),
                                items))
    return tuple(found)


def _labels(value: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, LMap) else {}


def _service(document: LMap, file: str) -> Service:
    name, namespace = _metadata(document)
    return Service(name, namespace, _labels(_map(document.get("spec")).get("selector")), file,
                   document.line)


def _container(item: LMap, file: str, line: int) -> Container:
    env: list[ContainerEnv] = []
    for source, source_line in _items(item.get("envFrom")):
        env.extend(_env_from(_map(source), file, source_line))
    for var, var_line in _items(item.get("env")):
        found = _env_var(_map(var), file, var_line)
        if found is not None:
            env.append(found)
    command, args = _items(item.get("command")), _items(item.get("args"))
    mounts = tuple(Mount(scalar_text(_map(m).get("name")), scalar_text(_map(m).get("mountPath")),
                         scalar_text(_map(m).get("subPath")) if _map(m).get("subPath") else "")
                   for m, _ in _items(item.get("volumeMounts")))
    return Container(name=scalar_text(item.get("name")), image=scalar_text(item.get("image")),
                     env=tuple(env), command=tuple(scalar_text(v) for v, _ in command),
                     args=tuple(scalar_text(v) for v, _ in args),
                     unresolved=(), file=file, line=line, mounts=mounts,
                     command_lines=tuple(n for _, n in command),
                     args_lines=tuple(n for _, n in args))


# A reference to a ConfigMap key is resolved once every file is read.
_CONFIG_MAP_REF = "configMapKeyRef"


_ENV_FROM_CONFIG_MAP = "envFrom configMap"


def _env_var(var: LMap, file: str, line: int) -> ContainerEnv | None:
    name = scalar_text(var.get("name"))
    if not name:
        return None
    if "value" in var:
        return ContainerEnv(name, scalar_text(var["value"]), "value", False, file,
                            var.lines.get("value", line), span=var.spans.get("value"))
    source = _map(var.get("valueFrom"))
    if "secretKeyRef" in source:
        ref = _map(source["secretKeyRef"])
        return ContainerEnv(name, None, "secretKeyRef", True, file, line,
                      f"secret {scalar_text(ref.get('name'))} key {scalar_text(ref.get('key'))}")
    if _CONFIG_MAP_REF in source:
        ref = _map(source[_CONFIG_MAP_REF])
        return ContainerEnv(name, None, _CONFIG_MAP_REF, False, file, line,
                      f"configMap {scalar_text(ref.get('name'))} key {scalar_text(ref.get('key'))}")
    kinds = [key for key in source if key != _CONFIG_MAP_REF]
    return ContainerEnv(name, None, kinds[0] if kinds else "valueFrom", False, file, line)


def _env_from(source: LMap, file: str, line: int) -> list[ContainerEnv]:
    prefix = scalar_text(source.get("prefix"))
    if "secretRef" in source:
        name = scalar_text(_map(source["secretRef"]).get("name"))
        return [ContainerEnv(f"{prefix}*", None, f"envFrom secret {name}", True, file, line,
                       f"secret {name}")]
    if "configMapRef" in source:
        name = scalar_text(_map(source["configMapRef"]).get("name"))
        return [ContainerEnv(f"{prefix}*", None, f"{_ENV_FROM_CONFIG_MAP} {name}", False, file,
                             line, f"configMap {name}")]
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

    env: list[ContainerEnv] = []
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
            env.extend(ContainerEnv(prefix + key, value, var.source, False, found.file,
                                    found.lines.get(key, found.line),
                                    f"configMap {name} key {key}", found.spans.get(key))
                       for key, value in found.data.items())
        elif var.source == _CONFIG_MAP_REF:
            _, name, _, key = var.reference.split(" ", 3)
            found = find(name)
            if found is None or key not in found.data:
                unresolved.append(var.reference)
                env.append(var)
            else:
                env.append(ContainerEnv(var.name, found.data[key], var.source, False, found.file,
                                        found.lines.get(key, found.line), var.reference,
                                        found.spans.get(key)))
        else:
            env.append(var)
    return replace(container, env=tuple(env), unresolved=tuple(unresolved))


def _autoscaler(document: LMap, kind: str, file: str) -> Autoscaler:
    name, namespace = _metadata(document)
    spec = _map(document.get("spec"))
    target = _map(spec.get("scaleTargetRef"))
    if kind == "HorizontalPodAutoscaler":
        max_key, min_key = "maxReplicas", "minReplicas"
        target_kind = scalar_text(target.get("kind"))
    else:
        max_key, min_key = "maxReplicaCount", "minReplicaCount"
        target_kind = scalar_text(target.get("kind")) or "Deployment"  # KEDA's default
    maximum = count(spec.get(max_key))
    minimum = count(spec.get(min_key))
    is_default = kind == "ScaledObject" and max_key not in spec
    if is_default:
        maximum = KEDA_DEFAULT_MAX_REPLICAS
    if kind == "ScaledObject" and min_key not in spec:
        minimum = KEDA_DEFAULT_MIN_REPLICAS
    return Autoscaler(kind=kind, name=name, namespace=namespace, target_kind=target_kind,
                      target_name=scalar_text(target.get("name")), min_replicas=minimum,
                      max_replicas=maximum, max_is_default=is_default, file=file,
                      line=document.line, max_line=_line(spec, max_key),
                      max_span=spec.spans.get(max_key))


# What the operators' readers (capacity.from_operators) look at: CloudNativePG, Zalando and
# Crunchy resources, and the workloads and ConfigMaps of a mounted pgbouncer.ini.
OPERATOR_KINDS = frozenset({"Cluster", "Pooler", "postgresql", "PostgresCluster", "ConfigMap",
                            "Deployment", "StatefulSet"})


def _collect(document: Any, file: str, found: KubernetesInputs) -> None:
    if not isinstance(document, LMap):
        return
    kind = scalar_text(document.get("kind"))
    if kind in OPERATOR_KINDS:
        found.documents.append((document, file))
    if kind == "List":
        for item in _list(document.get("items")):
            _collect(item, file, found)
    elif kind in _WORKLOAD_KINDS:
        found.workloads.append(_workload(document, kind, file))
    elif kind == "HorizontalPodAutoscaler" or (
            kind == "ScaledObject"
            and scalar_text(document.get("apiVersion")).startswith("keda.sh/")):
        found.autoscalers.append(_autoscaler(document, kind, file))
    elif kind == "ConfigMap":
        found.config_maps.append(_config_map(document, file))
    elif kind == "Service" and isinstance(document.get("spec"), LMap):
        found.services.append(_service(document, file))
    elif kind in ("Kustomization", "") and "configMapGenerator" in document:
        found.config_maps += _generated(document, file, found.errors)


_GENERATED_BYTES = 1024 * 1024


def _generated(document: LMap, file: str, errors: list[InputError]) -> list[ConfigMap]:
    """The ConfigMaps a kustomization's configMapGenerator makes of files beside it (`files`:
    `path` or `key=path`), one per file so that each key keeps its own file's lines; kustomize
    gives them the kustomization's namespace and rewrites the references to their generated
    names."""
    namespace = document.get("namespace")
    space = scalar_text(namespace) if namespace is not None else None
    made = []
    for item, _ in _items(document.get("configMapGenerator")):
        generator = _map(item)
        for entry, line in _items(generator.get("files")):
            key, _, name = scalar_text(entry).rpartition("=")
            path = os.path.join(os.path.dirname(file), name)
            problem = confine.check(path, (os.path.dirname(file) or ".",))
            if problem is not None:
                errors.append(InputError(file, line, f"configMapGenerator file {name[:80]}: "
                                         f"{problem}"))
                continue
            try:
                raw = confine.read_regular(path, _GENERATED_BYTES)
            except OSError as error:
                errors.append(InputError(file, line, f"configMapGenerator file {name[:80]}: "
                                         f"{error.strerror or 'cannot read'}"))
                continue
            key = key or os.path.basename(path)
            made.append(ConfigMap(scalar_text(generator.get("name")), space,
                                  {key: raw.decode("utf-8", "replace")}, {key: 0}, path, 1,
                                  whole_file=True))
    return made


def load_kubernetes_texts(sources: Sequence[tuple[str, str]]) -> KubernetesInputs:
    """Manifests from (file name, text) pairs; envFrom ConfigMaps resolve across all of them."""
    found = KubernetesInputs()
    for file, text in sources:
        found.files.append(file)
        found.comments[file] = comments(file, text) if may_suppress(text) else []
        documents, errors = read_documents(text, file)
        found.errors.extend(errors)
        for document in documents:
            _collect(document, file, found)
    found.workloads = [
        replace(w, containers=tuple(_resolve_env(c, w.namespace, found.config_maps)
                                    for c in w.containers))
        for w in found.workloads]
    found.config_maps = [_pgbouncer_inis(c, found.workloads) for c in found.config_maps]
    found.errors.extend(e for config_map in found.config_maps
                        for ini in config_map.pgbouncer.values() for e in ini.errors)
    return found


def load_kubernetes(paths: Sequence[str]) -> KubernetesInputs:
    """Read YAML files; an unreadable or oversized file is a located error."""
    sources: list[tuple[str, str]] = []
    errors: list[InputError] = []
    for path in paths:
        try:
            raw = confine.read_regular(path, MAX_FILE_BYTES)
        except confine.Refused as error:
            errors.append(InputError(path, 0, str(error.strerror)))
            continue
        except OSError as error:
            errors.append(InputError(path, 0, f"cannot read: {error.strerror or error}"))
            continue
        sources.append((path, raw.decode("utf-8-sig", errors="replace")))
    found = load_kubernetes_texts(sources)
    found.errors[:0] = errors
    return found


def read(paths: list[str], context: ReadContext) -> Read:
    """The `kubernetes` input kind."""
    found = load_kubernetes(paths)
    return Read(found, found.errors, found.comments)
