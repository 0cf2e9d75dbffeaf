"""The Cloud SQL Auth Proxy as a sidecar of a Kubernetes pod (GKE): what it does to the client
the Kubernetes adapter made of the pod.

The proxy passes connections through one to one: each connection the application opens to it
(on localhost) is one connection to the instance, so the pod's worst case is the application's
processes x pool, and the proxy's `--max-connections` (v1 `-max_connections`; 0 or unset: no
limit) caps it, refusing any connection above it. The instance connection names in its
arguments (v2 positional `<project>:<region>:<instance>[?port=N]`, v1
`-instances=<name>[=tcp:N]`) are what the pod's localhost connections reach: they replace the
loopback host as what ties the pod to its database.
"""

from __future__ import annotations

import re

from connbudget.frontends.kubernetes.model import Container, KubernetesInputs, Workload
from connbudget.model import Client, Origin, Value
from connbudget.providers.context import BuildContext
from connbudget.providers.google import tables
from connbudget.providers.google.cloudsql import connection_name

_LOOPBACK = re.compile(r"^(?:localhost|127(?:\.\d+){3}|::1|\[::1\])(?::\d+)?$")
_MAX = re.compile(r"^--?max[-_]connections(?:=(\d+))?$")
_INSTANCES = re.compile(r"^--?instances(?:=(.*))?$")
_ENV_INSTANCES = ("CSQL_PROXY_INSTANCE_CONNECTION_NAME", "INSTANCES")
_ENV_MAX = "CSQL_PROXY_MAX_CONNECTIONS"


def _images() -> tuple[str, ...]:
    found = tables.fact("auth_proxy.images")
    return tuple(found.value.split()) if found else ()


def is_proxy(container: Container) -> bool:
    image = container.image.split("@")[0].rsplit(":", 1)[0]
    return image.endswith(_images()) or "cloud-sql-proxy" in image or "cloudsql-proxy" in image


def _words(container: Container) -> list[str]:
    return [*container.command, *container.args]


def _following(words: list[str], index: int, inline: str | None) -> str | None:
    if inline is not None:
        return inline
    return words[index + 1] if index + 1 < len(words) else None


def instances(container: Container) -> set[str]:
    """The instances the proxy connects to, as the names their databases answer to."""
    words = _words(container)
    found: list[str] = []
    for index, word in enumerate(words):
        flag = _INSTANCES.match(word)
        if flag:
            found += (_following(words, index, flag.group(1)) or "").split(",")
        elif not word.startswith("-"):
            found.append(word)
    found += [item for var in container.env if var.name in _ENV_INSTANCES and var.value
              for item in var.value.split(",")]
    names = {connection_name(item) for item in found}
    return {f"cloudsql:{name}" for name in names if name}


def max_connections(container: Container) -> Value | None:
    """The proxy's connection limit; None when it sets none (0 is no limit)."""
    words = _words(container)
    for index, word in enumerate(words):
        flag = _MAX.match(word)
        written = _following(words, index, flag.group(1)) if flag else None
        if written is not None and written.isdigit() and int(written):
            return Value(int(written), Origin(
                f"cloud-sql-proxy {word.split('=')[0]} {written}: the proxy refuses connections "
                f"above it ({tables.cite('auth_proxy.max_connections_default')})",
                container.file, container.line))
    for var in container.env:
        if var.name == _ENV_MAX and var.value and var.value.strip().isdigit() \
                and int(var.value):
            return Value(int(var.value), Origin(f"{_ENV_MAX}={var.value.strip()}", var.file,
                                                var.line))
    return None


def _cap(client: Client, limit: Value) -> None:
    """The pod opens at most the proxy's limit: processes x pool, never above it."""
    assert limit.value is not None
    processes, pool = client.processes, client.pool
    demand = (processes.value * pool.value if processes.known and pool.known
              and processes.value is not None and pool.value is not None else None)
    if demand is not None and demand <= limit.value:
        client.notes.append(f"{limit.origin.text}: above the pod's {demand} connections")
        return
    was = (f"{demand} ({processes.value} x {pool.value})" if demand is not None
           else f"unknown ({pool.origin.text})")
    client.processes = Value(1, Origin("the Cloud SQL Auth Proxy passes the pod's connections "
                                       "through one to one"))
    client.pool = Value(limit.value, Origin(f"{limit.origin.text}; the application would open "
                                            f"{was}", limit.origin.file, limit.origin.line))
    client.pool_setting = "--max-connections"


def _through(client: Client, workload: Workload) -> None:
    proxies = [c for c in workload.containers if is_proxy(c)]
    names = set().union(*(instances(proxy) for proxy in proxies))
    if names:
        client.refs = {ref for ref in client.refs if not _LOOPBACK.match(ref)} | names
        per = tables.auth_proxy_connections_per_client()
        client.notes.append("through the Cloud SQL Auth Proxy sidecar to "
                            + ", ".join(sorted(n.split(":", 1)[1] for n in names))
                            + (f": one instance connection per application connection "
                               f"({per.cite})" if per else ""))
    limits = [found for proxy in proxies if (found := max_connections(proxy)) is not None]
    if limits and len(limits) == len(proxies):
        _cap(client, Value(sum(v.value or 0 for v in limits), limits[0].origin))


def build(parsed: dict[str, KubernetesInputs], context: BuildContext) -> None:
    """The Auth Proxy sidecars on the clients of their pods."""
    manifests = parsed["kubernetes"]
    for workload in manifests.workloads:
        if not any(is_proxy(c) for c in workload.containers):
            continue
        for client in context.model.clients:
            if client.platform == "kubernetes" and client.where.file == workload.file \
                    and client.where.line == workload.line:
                _through(client, workload)
