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

from connbudget.kinds import KINDS
from connbudget.model import Key, Model, Reservation


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
    # "double" (twice the running ones, no setting changes it: App Runner), "revision" (a new
    # revision beside the old, each up to the maximum), "none", or "unknown" (the vendor
    # documents nothing)
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
    ClientPlatform("lambda", "Lambda function", "environment", "none"),
    ClientPlatform("app-runner", "App Runner service", "instance", "double"),
    ClientPlatform("scheduled-task", "EventBridge-scheduled ECS task", "task", "none"),
    ClientPlatform("batch", "AWS Batch job definition", "job", "none"),
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
# what a connection setting names, read by platforms whose endpoints are not a plain host:
# "module:function" (refs) -> refs, each ref a platform names replaced by the name it matches
REF_ENDPOINTS = ("connbudget.providers.google.cloudsql:endpoints",
                 "connbudget.providers.azure.flexible:endpoints")
_PORT = re.compile(r":\d+$")


# settings a platform reserves slots with beyond PostgreSQL's own (what a live server shows)
RESERVED_SETTINGS = ("rds.rds_superuser_reserved_connections",)
# prefixes of environment variable names a platform gives a client for its database's host, beside
# the generic PG/DB/DATABASE ones: Elastic Beanstalk's RDS_HOSTNAME, RDS_ENDPOINT in ECS stacks
HOST_VARIABLE_PREFIXES = ("RDS",)
# "module:function" (host) -> the database names or identifiers a platform's endpoint format
# puts in that host name
ENDPOINTS = ("connbudget.providers.aws.endpoints:database_names",
             "connbudget.providers.kubernetes.dns:service_names")


def endpoint_names(host: str) -> set[str]:
    """The database names a host's endpoint format says, by every platform's format."""
    found: set[str] = set()
    for hook in ENDPOINTS:
        module, _, function = hook.partition(":")
        found |= getattr(importlib.import_module(module), function)(host)
    return found


def _attribute(path: str) -> Any:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


@dataclass(frozen=True)
class Adapter:
    """Reads the parsed inputs of `kinds` into the model: `build(parsed, context)`, where
    `parsed` maps each of those kinds to its front end's result. `modules` names the
    patterns of the remote Terraform module sources it reads ("module:NAME", a tuple of
    compiled patterns): a remote module no adapter reads is a coverage item."""

    name: str
    kinds: tuple[str, ...]
    build: str  # "module:function", imported when an input of one of `kinds` was read
    modules: str = ""
    # the prefixes of the only resource types it reads: without one, it is neither imported
    # nor run (a Terraform tree of one cloud does not load the others)
    types: tuple[str, ...] = ()

    def wanted(self, parsed: dict[str, Any]) -> bool:
        """Whether an input of its kinds was read and, when it reads certain resource types
        only, holds one of them."""
        read = [parsed[kind] for kind in self.kinds if kind in parsed]
        if not read or not self.types:
            return bool(read)
        for model in read:
            resources = getattr(model, "resources", None)
            if resources is None or any(r.type.startswith(self.types) for r in resources):
                return True
        return False

    def load(self) -> Callable[..., Any]:
        found: Callable[..., Any] = _attribute(self.build)
        return found

    def module_sources(self) -> tuple[re.Pattern[str], ...]:
        found: tuple[re.Pattern[str], ...] = _attribute(self.modules) if self.modules else ()
        return found


_COVERAGE_KINDS = tuple(kind.name for kind in KINDS if kind.family == "coverage")
ADAPTERS = (
    Adapter("aws", ("terraform", "plan"), "connbudget.providers.aws.terraform:build",
            "connbudget.providers.aws.modules:BY_INPUTS"),
    Adapter("google", ("terraform", "plan"), "connbudget.providers.google.terraform:build",
            types=("google_",)),
    Adapter("azure", ("terraform", "plan"), "connbudget.providers.azure.terraform:build",
            types=("azurerm_",)),
    Adapter("azure (ARM)", ("arm",), "connbudget.providers.azure.arm:build"),
    Adapter("postgresql roles", ("terraform", "plan"),
            "connbudget.providers.postgresql.roles:build", types=("postgresql_role",)),
    Adapter("kubernetes (Terraform)", ("terraform", "plan"),
            "connbudget.providers.kubernetes.terraform:build", types=("kubernetes_",)),
    Adapter("pgbouncer", ("pgbouncer",), "connbudget.providers.pgbouncer.poolers:build"),
    Adapter("kubernetes", ("kubernetes",), "connbudget.providers.kubernetes.workloads:build"),
    # after the kubernetes adapter: a pod's Cloud SQL Auth Proxy sidecar on the clients it made
    Adapter("google (GKE)", ("kubernetes",), "connbudget.providers.google.authproxy:build"),
    Adapter("operators", ("kubernetes",), "connbudget.providers.kubernetes.operators:build"),
    Adapter("compose", ("compose",), "connbudget.providers.compose:build"),
    # after the platforms: it ties application configuration to the units they found
    Adapter("applications", ("rails", "spring", "python-app", "node-app", "go-app"),
            "connbudget.providers.apps.tie:build"),
    # what was recognised and not read: inputs of the coverage kinds, resources of the types
    # below, remote modules no adapter reads
    Adapter("coverage", _COVERAGE_KINDS, "connbudget.providers.coverage:inputs"),
    Adapter("coverage (Terraform)", ("terraform", "plan"),
            "connbudget.providers.coverage:terraform"),
)


@dataclass(frozen=True)
class Unmodelled:
    """A Terraform resource type that can run database clients or be a PostgreSQL database,
    and that no adapter models yet: each resource of it is a coverage item, never dropped.
    `bound` is the setting that bounds its units (for the fix); `when` = (attribute, pattern):
    only a resource whose attribute (every text in it when "") matches is one, and one whose
    attribute is unresolved may be; `needs`: only a resource that sets this attribute is one."""

    what: str
    database: bool = False  # it is a database server, not a client
    bound: str = ""
    when: tuple[str, str] = ("", "")
    needs: str = ""


# the resource types of the providers below whose support is being built: a row leaves this
# table when an adapter models the type
UNMODELLED: dict[str, Unmodelled] = {
    "aws_elastic_beanstalk_environment": Unmodelled(
        "an Elastic Beanstalk environment", bound="setting aws:autoscaling:asg MaxSize"),
    "aws_lightsail_database": Unmodelled(
        "a Lightsail managed database", database=True,
        when=("relational_database_blueprint_id", "^postgres")),
    "google_cloudfunctions2_function": Unmodelled(
        "a Cloud Run function", bound="service_config.max_instance_count"),
    "google_cloudfunctions_function": Unmodelled("a Cloud Function (1st gen)",
                                                 bound="max_instances"),
    "google_app_engine_flexible_app_version": Unmodelled(
        "an App Engine flexible version", bound="automatic_scaling.max_total_instances"),
    "google_alloydb_instance": Unmodelled("an AlloyDB instance", database=True),
    "azurerm_linux_function_app": Unmodelled("an Azure Functions app",
                                             bound="site_config.app_scale_limit"),
    "azurerm_windows_function_app": Unmodelled("an Azure Functions app",
                                               bound="site_config.app_scale_limit"),
    "azurerm_cosmosdb_postgresql_cluster": Unmodelled(
        "an Azure Cosmos DB for PostgreSQL cluster", database=True),
}


# Who the network lets reach a database or pooler, for matching a client whose connection
# setting does not name it: "module:function" (model) -> {client key: {target key: how}}, one
# per provider that records its network in the model
REACHABILITY = ("connbudget.providers.aws.network:reachable",)


def reachable(model: Model) -> dict[Key, dict[Key, str]]:
    """Per compute resource, the databases and poolers its network can reach, and how."""
    found: dict[Key, dict[Key, str]] = {}
    for hook in REACHABILITY:
        module, _, function = hook.partition(":")
        for source, targets in getattr(importlib.import_module(module), function)(model).items():
            found.setdefault(source, {}).update(targets)
    return found


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
    """What a client or pooler names, with each platform's endpoint formats read
    (`REF_ENDPOINTS`); a host written with its port (`host:6432`) is kept only where a platform
    reads the port."""
    for hook in REF_ENDPOINTS:
        module, _, function = hook.partition(":")
        found: set[str] = getattr(importlib.import_module(module), function)(refs)
        refs = found
    return {ref for ref in refs if not _PORT.search(ref)}


# the `--format` of `connbudget alerts` that writes each alarm module's alarms (its FORMAT), so
# that the command line is built without importing them
ALARM_FORMATS = {_AWS_ALARMS: "cloudwatch", _GOOGLE_ALARMS: "cloud-monitoring",
                 _AZURE_ALARMS: "azure-monitor"}


def alarm_formats() -> list[str]:
    """The `--format`s of `connbudget alerts` the platforms' alarm modules write."""
    return sorted({ALARM_FORMATS[p.alarms] for p in DATABASE_PLATFORMS.values() if p.alarms})


def alarm_modules() -> dict[str, Any]:
    """The alarm module of each platform that has one, by the `--format` of `connbudget
    alerts` that writes its alarms (`FORMAT`)."""
    modules = {p.alarm_module() for p in DATABASE_PLATFORMS.values() if p.alarms}
    return {module.FORMAT: module for module in sorted(modules, key=lambda m: m.__name__)}
