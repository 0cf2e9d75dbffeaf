"""Kubernetes objects as connbudget needs them: workloads, autoscalers, ConfigMaps, with lines.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from connbudget.comments import Comment
from connbudget.errors import InputError
from connbudget.frontends.kubernetes.safeyaml import Insert, LMap, Span
from connbudget.frontends.pgbouncer.model import PgBouncerConfig

DEFAULT_MAX_SURGE = "25%"


KEDA_DEFAULT_MAX_REPLICAS = 100


KEDA_DEFAULT_MIN_REPLICAS = 0


_WORKLOAD_KINDS = ("Deployment", "StatefulSet")


@dataclass(frozen=True)
class ContainerEnv:
    name: str
    value: str | None  # None when not readable here (Secret, fieldRef, missing ConfigMap)
    source: str  # "value", "secretKeyRef", "configMapKeyRef", "envFrom configMap NAME", ...
    secret: bool  # from a Secret: the value is never read
    file: str
    line: int
    reference: str = ""  # e.g. "secret app-db key password", "configMap app-config key POOL"
    span: Span | None = None  # where its value is written


@dataclass(frozen=True)
class Mount:
    """A container's volumeMount: the volume, where it is mounted, and its subPath ("": the
    whole volume)."""

    volume: str
    path: str
    sub_path: str = ""


@dataclass(frozen=True)
class Volume:
    """A pod volume that projects a ConfigMap: each key as a file named by `items` (key ->
    path) or, without items, by the key itself."""

    name: str
    config_map: str
    items: tuple[tuple[str, str], ...] = ()

    def files(self, keys: list[str]) -> dict[str, str]:
        """File name inside the volume -> ConfigMap key."""
        if self.items:
            return {path: key for key, path in self.items}
        return {key: key for key in keys}


@dataclass(frozen=True)
class Container:
    name: str
    image: str
    env: tuple[ContainerEnv, ...]  # envFrom first, then env (a later name wins, as in Kubernetes)
    command: tuple[str, ...]
    args: tuple[str, ...]
    unresolved: tuple[str, ...]  # envFrom/configMapKeyRef sources not found in the inputs
    file: str
    line: int
    mounts: tuple[Mount, ...] = ()
    # the line of each word of command and args, as written (0 where not known)
    command_lines: tuple[int, ...] = ()
    args_lines: tuple[int, ...] = ()


@dataclass(frozen=True)
class Surge:
    value: int | str  # pods (int) or a percentage string ("25%")
    is_default: bool
    file: str
    line: int
    note: str = ""  # e.g. "StatefulSets do not surge", "strategy Recreate"
    span: Span | None = None  # where its value is written
    insert: Insert | None = None  # where maxSurge would be written, when it is not


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
    pod_labels: dict[str, str] = field(default_factory=dict)  # spec.template.metadata.labels
    replicas_span: Span | None = None
    volumes: tuple[Volume, ...] = ()  # the pod's ConfigMap volumes
    service_name: str = ""  # a StatefulSet's spec.serviceName (its governing Service)


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
    max_span: Span | None = None


@dataclass(frozen=True)
class ConfigMap:
    name: str
    namespace: str | None
    data: dict[str, str]
    lines: dict[str, int]
    file: str
    line: int
    # its `*pgbouncer.ini` keys, read as PgBouncer reads them
    pgbouncer: dict[str, PgBouncerConfig] = field(default_factory=dict)
    spans: dict[str, Span] = field(default_factory=dict)  # where each value is written
    whole_file: bool = False  # made of a file (a kustomize generator): its data is that file's


@dataclass(frozen=True)
class Service:
    name: str
    namespace: str | None
    selector: dict[str, str]
    file: str
    line: int = 0


@dataclass
class KubernetesInputs:
    workloads: list[Workload] = field(default_factory=list)
    services: list[Service] = field(default_factory=list)
    autoscalers: list[Autoscaler] = field(default_factory=list)
    config_maps: list[ConfigMap] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    comments: dict[str, list[Comment]] = field(default_factory=dict)  # per file read
    # the parsed documents the operators' readers work on (their custom resources, the
    # workloads and ConfigMaps that mount a pgbouncer.ini), each with its file: parsed once here
    documents: list[tuple[LMap, str]] = field(default_factory=list)
