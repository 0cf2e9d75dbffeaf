"""The names Kubernetes gives a Service in DNS: `<service>.<namespace>.svc` and
`<service>.<namespace>.svc.cluster.local` (kubernetes.io/docs/concepts/services-networking/
dns-pod-service/, "Services", read 2026-12-07): the first label is the Service's name."""

from __future__ import annotations

import re

_SERVICE = re.compile(r"^([a-z0-9](?:[a-z0-9-]*[a-z0-9])?)\.[a-z0-9-]+\.svc"
                      r"(?:\.cluster\.local)?\.?$")


def service_names(host: str) -> set[str]:
    """The Service a cluster DNS name designates; nothing for any other host."""
    found = _SERVICE.match(host.strip().lower())
    return {found.group(1)} if found else set()
