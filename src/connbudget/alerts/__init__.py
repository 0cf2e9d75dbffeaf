"""Alert rules and alarms computed from the budget: what a database and its roles should be
watched for, in Prometheus (postgres_exporter) and CloudWatch (Terraform) form."""

from __future__ import annotations

import re

from connbudget.capacity.model import Database

_MODULE_PREFIX = re.compile(r"((?:module\.[\w-]+(?:\[[^\]]*\])?\.)*)(.*)", re.DOTALL)
_IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,62}$")


def split_address(address: str) -> tuple[str, str]:
    """('module.app.', 'aws_db_instance.main') for a resource inside a local module."""
    match = _MODULE_PREFIX.fullmatch(address)  # total: the prefix may be empty, `.*` takes all
    return (match.group(1), match.group(2)) if match else ("", address)


def is_rds(database: Database) -> bool:
    """An RDS or Aurora database declared in the scanned Terraform (not only pinned)."""
    _, local = split_address(database.where.address)
    return bool(database.where.file) and local.startswith(
        ("aws_db_instance.", "aws_rds_cluster.", "module."))


def is_cluster(database: Database) -> bool:
    return database.engine.startswith("aurora") or ".aws_rds_cluster." in (
        "." + split_address(database.where.address)[1])


def dimension(database: Database) -> str:
    """The CloudWatch dimension that names this database's DatabaseConnections metric."""
    return "DBClusterIdentifier" if is_cluster(database) else "DBInstanceIdentifier"


def reference(database: Database) -> str:
    """The Terraform expression for the database's identifier, from where its block is."""
    _, local = split_address(database.where.address)
    if local.startswith("module."):  # terraform-aws-modules rds / rds-aurora outputs
        return f"{local}.{'cluster_id' if is_cluster(database) else 'db_instance_identifier'}"
    return f"{local}.{'cluster_identifier' if is_cluster(database) else 'identifier'}"


def identifier(database: Database) -> str | None:
    """The literal identifier (`identifier`, `cluster_identifier`) when the files give one."""
    names = sorted(a for a in database.aliases if _IDENTIFIER.match(a))
    return names[0] if len(names) == 1 else None
