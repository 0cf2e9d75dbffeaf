"""The names a workload is reached by inside a cluster: the Services that select its pods, a
StatefulSet's own pods, each as written and with its namespace's DNS forms
(`name.namespace`, `name.namespace.svc`, `name.namespace.svc.cluster.local`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from connbudget.frontends.kubernetes.model import Service


def hosts(names: Iterable[str], namespace: str | None) -> set[str]:
    written = set(names)
    found = set(written)
    if namespace:
        for suffix in ("", ".svc", ".svc.cluster.local"):
            found |= {f"{name}.{namespace}{suffix}" for name in written}
    return found


def same_namespace(left: str | None, right: str | None) -> bool:
    """A manifest without a namespace goes to whatever namespace it is applied in."""
    return left is None or right is None or left == right


def selecting(services: Iterable[Service], labels: Mapping[str, str],
              namespace: str | None) -> set[str]:
    """The names of the Services whose selector picks pods with these labels."""
    return {s.name for s in services if s.selector and same_namespace(s.namespace, namespace)
            and s.selector.items() <= labels.items()}
