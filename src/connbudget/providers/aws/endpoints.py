"""What an AWS host name says about the database behind it: an RDS or Aurora endpoint
(`<identifier>.<id>.<region>.rds.amazonaws.com`, a cluster's `<identifier>.cluster-<id>...`,
its reader `.cluster-ro-`, an RDS Proxy's `<name>.proxy-<id>...`) starts with the identifier or
proxy name, by AWS's documented format ("Connecting to a DB instance running the PostgreSQL
database engine", Amazon RDS User Guide: the endpoint's first label is the DB identifier)."""

from __future__ import annotations

import re

_RDS_ENDPOINT = re.compile(r"\.rds\.amazonaws\.com(?:\.cn)?\.?$", re.IGNORECASE)


def database_names(host: str) -> set[str]:
    """The identifier an RDS endpoint names; nothing for any other host."""
    if _RDS_ENDPOINT.search(host):
        return {host.split(".")[0].lower()}
    return set()
