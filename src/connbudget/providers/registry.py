"""The platforms connbudget models and the adapters that read them: one row each.

A database platform says who runs the server (its label, and the module that writes and checks
its connection alarms, when it has them); a client platform says what its units are called and
how it surges during a deploy. An adapter turns what the front ends of some input kinds read
into model objects; adapters run in this order, each isolated per input unit (a file, a
Terraform root), so one that fails blames its own input only.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from connbudget.model import Reservation


@dataclass(frozen=True)
class DatabasePlatform:
    name: str
    label: str
    # the module with the platform's connection alarms; "" for none: the missing-alarm rule
    # and `connbudget alerts` read it. It has `alarms(terraform model)` (the alarms declared),
    # `owns(alarm)`, `watchable(database)`, `watches(alarm, database)`, `threshold_for`,
    # `alarm_block(budget, share)`, `render(budgets, share)`, and SERVICE, METRIC, ADD,
    # FORMAT (of `connbudget alerts`), RISING (comparisons firing as connections rise),
    # COMPARISON and THRESHOLD (the settings a fix writes), FILE_SUFFIX (where a written alarm goes)
    alarms: str = ""
    # "module:function" giving the slots it reserves by default (PostgreSQL's own when "")
    reservations: str = ""
    # what a pin's address says: a database the files do not declare whose address starts so
    addresses: tuple[str, ...] = ()
    # what sets max_connections in the platform's own files, for a fix when it is unknown
    setting: str = ""

    def alarm_module(self) -> Any:
        return importlib.import_module(self.alarms) if self.alarms else None

    def default_reservations(self) -> list[Reservation]:
        if not self.reservations:
            from connbudget.providers.postgresql.server import reservations

            return reservations({})
        module, _, function = self.reservations.partition(":")
        found: list[Reservation] = getattr(importlib.import_module(module), function)()
        return found


@dataclass(frozen=True)
class ClientPlatform:
    name: str
    label: str
    unit: str  # one of what it scales: "task", "pod"
    # how a rolling deploy adds units: "percent" (of the running ones, ECS
    # deployment_maximum_percent), "extra" (a fixed number on top, Kubernetes maxSurge),
    # "revision" (a new revision beside the old, each up to the maximum), "none", or "unknown"
    # (the vendor documents nothing)
    surge: str

    def units(self, number: int | None = 2) -> str:
        return self.unit if number == 1 else self.unit + "s"


_AWS_ALARMS = "connbudget.providers.aws.cloudwatch"
_RDS_RESERVED = "connbudget.providers.aws.rds:reservations"
_GOOGLE_ALARMS = "connbudget.providers.google.monitoring"
_AZURE_ALARMS = "connbudget.providers.azure.monitor"
DATABASE_PLATFORMS = {p.name: p for p in (
    DatabasePlatform("rds", "Amazon RDS for PostgreSQL", _AWS_ALARMS, _RDS_RESERVED,
                     ("aws_db_instance.",)),
    DatabasePlatform("aurora", "Amazon Aurora PostgreSQL", _AWS_ALARMS, _RDS_RESERVED,
                     ("aws_rds_cluster.",)),
    DatabasePlatform("cloud-sql", "Cloud SQL for PostgreSQL", _GOOGLE_ALARMS,
                     "connbudget.providers.google.cloudsql:reservations",
                     ("google_sql_database_instance.",),
                     'the max_connections database flag: settings { database_flags { name = '
                     '"max_connections" value = "<n>" } }'),
    DatabasePlatform("azure-flexible", "Azure Database for PostgreSQL flexible server",
                     _AZURE_ALARMS, "connbudget.providers.azure.flexible:reservations",
                     ("azurerm_postgresql_flexible_server.",),
                     "the max_connections server parameter: an "
                     "azurerm_postgresql_flexible_server_configuration with name = "
                     '"max_connections" and value = "<n>" (static: the server restarts)'),
    DatabasePlatform("self-managed", "PostgreSQL run by the stack itself"),
    DatabasePlatform("cloudnative-pg", "CloudNativePG Cluster"),
    DatabasePlatform("zalando", "Zalando postgres-operator cluster"),
    DatabasePlatform("crunchy", "Crunchy PGO PostgresCluster"),
    DatabasePlatform("unknown", "a database the files do not describe"),
)}

CLIENT_PLATFORMS = {p.name: p for p in (
    ClientPlatform("ecs", "ECS service", "task", "percent"),
    ClientPlatform("kubernetes", "Kubernetes workload", "pod", "extra"),
    ClientPlatform("compose", "compose service", "replica", "none"),
    ClientPlatform("cloud-run", "Cloud Run service", "instance", "unknown"),
    ClientPlatform("cloud-run-job", "Cloud Run job", "task", "none"),
    ClientPlatform("container-apps", "Azure Container App", "replica", "revision"),
    ClientPlatform("app-service", "Azure App Service app", "instance", "unknown"),
)}


# Terraform resource types that are a database or a pooler: a client whose environment refers
# to one talks to PostgreSQL
DATABASE_RESOURCE_TYPES = ("aws_db_instance", "aws_rds_cluster", "aws_db_proxy",
                           "google_sql_database_instance", "azurerm_postgresql_flexible_server")
# data sources that look a database up in another root, by the attribute named
DATABASE_LOOKUPS = {"aws_db_instance": "db_instance_identifier",
                    "aws_rds_cluster": "cluster_identifier"}
# data sources that hold a secret: a value read from one is never read
SECRET_STORES = ("aws_ssm_parameter", "aws_secretsmanager_secret_version",
                 "aws_secretsmanager_secret", "google_secret_manager_secret_version",
                 "azurerm_key_vault_secret")

# Each: "module:function" taking the addresses and hosts a client or pooler names and giving
# them back with the endpoints its platform writes (a Cloud SQL connection name, a server's
# host name) replaced by the alias its database or pooler answers to
ENDPOINTS = ("connbudget.providers.google.cloudsql:endpoints",
             "connbudget.providers.azure.flexible:endpoints")
_PORT = re.compile(r":\d+$")


@dataclass(frozen=True)
class Adapter:
    """Reads the parsed inputs of `kinds` into the model: `build(parsed, context)`, where
    `parsed` maps each of those kinds to its front end's result."""

    name: str
    kinds: tuple[str, ...]
    build: str  # "module:function", imported when an input of one of `kinds` was read

    def load(self) -> Callable[..., Any]:
        module, _, function = self.build.partition(":")
        found: Callable[..., Any] = getattr(importlib.import_module(module), function)
        return found


ADAPTERS = (
    Adapter("aws", ("terraform", "plan"), "connbudget.providers.aws.terraform:build"),
    Adapter("google", ("terraform", "plan"), "connbudget.providers.google.terraform:build"),
    Adapter("azure", ("terraform", "plan"), "connbudget.providers.azure.terraform:build"),
    Adapter("azure (ARM)", ("arm",), "connbudget.providers.azure.arm:build"),
    Adapter("postgresql roles", ("terraform", "plan"),
            "connbudget.providers.postgresql.roles:build"),
    Adapter("kubernetes (Terraform)", ("terraform", "plan"),
            "connbudget.providers.kubernetes.terraform:build"),
    Adapter("pgbouncer", ("pgbouncer",), "connbudget.providers.pgbouncer.poolers:build"),
    Adapter("kubernetes", ("kubernetes",), "connbudget.providers.kubernetes.workloads:build"),
    # after the kubernetes adapter: a pod's Cloud SQL Auth Proxy sidecar on the clients it made
    Adapter("google (GKE)", ("kubernetes",), "connbudget.providers.google.authproxy:build"),
    Adapter("operators", ("kubernetes",), "connbudget.providers.kubernetes.operators:build"),
    Adapter("compose", ("compose",), "connbudget.providers.compose:build"),
)


def database_platform(name: str) -> DatabasePlatform:
    return DATABASE_PLATFORMS[name]


def platform_of_address(address: str) -> DatabasePlatform:
    """The platform a database address names by its form (`aws_db_instance.x`), for a database
    known only from a pin; "unknown" when the form says nothing."""
    return next((p for p in DATABASE_PLATFORMS.values()
                 if address.startswith(p.addresses) and p.addresses),
                DATABASE_PLATFORMS["unknown"])


def client_platform(name: str) -> ClientPlatform:
    return CLIENT_PLATFORMS[name]


def endpoint_refs(refs: set[str]) -> set[str]:
    """What a client or pooler names, with each platform's endpoint formats read (`ENDPOINTS`);
    a host written with its port (`host:6432`) is kept only where a platform reads the port."""
    for hook in ENDPOINTS:
        module, _, function = hook.partition(":")
        found: set[str] = getattr(importlib.import_module(module), function)(refs)
        refs = found
    return {ref for ref in refs if not _PORT.search(ref)}


def alarm_modules() -> dict[str, Any]:
    """The alarm module of each platform that has one, by the `--format` of `connbudget
    alerts` that writes its alarms (`FORMAT`)."""
    modules = {p.alarm_module() for p in DATABASE_PLATFORMS.values() if p.alarms}
    return {module.FORMAT: module for module in sorted(modules, key=lambda m: m.__name__)}
