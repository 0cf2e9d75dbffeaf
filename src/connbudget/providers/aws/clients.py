"""What the AWS client platforms share: a client from what its environment says, environment
variables written as an HCL map (Lambda `variables`, App Runner
`runtime_environment_variables`), secrets whose values are never read, and the databases of a
root a client's references name."""

from __future__ import annotations

from typing import Any

from connbudget.frontends.terraform.model import ModuleCall, Resource, line_of
from connbudget.model import Client, Database, Key, Location, Pooler, Value, refers_to
from connbudget.providers.apps.env import EnvVar, PoolSettings
from connbudget.providers.tfvalues import env_var

# how an HCL map of environment variables writes one: `NAME = "value"`
MAP_STYLE = "hcl-map"


def make_client(platform: str, where: Location, task: PoolSettings, scale: Value,
                deploy: Value, scale_setting: str, env_style: str = MAP_STYLE,
                notes: list[str] | None = None) -> Client:
    return Client(platform, where, scale, deploy, task.processes, task.pool, task.pool_setting,
                  scale_setting, autoscaled=True, refs=task.refs, user=task.user,
                  database=task.database, notes=[*task.notes, *(notes or [])],
                  env_style=env_style)


def map_env(block: Resource | ModuleCall, variables: Any) -> dict[str, EnvVar]:
    """The variables of an HCL map, each at the line that names it in the block."""
    if not isinstance(variables, dict):
        return {}
    env: dict[str, EnvVar] = {}
    for name, value in variables.items():
        line = line_of(block, name)
        env[name] = env_var(name, value, block.file if line != block.line else "",
                            line if line != block.line else 0)
    return env


def secret_env(variables: Any, source: str) -> dict[str, EnvVar]:
    """Variables whose values come from a secret store: their names only."""
    if not isinstance(variables, dict):
        return {}
    return {name: EnvVar(name, None, (), secret=True, source=source) for name in variables}


def named_databases(refs: set[str], databases: list[Database],
                    poolers: list[Pooler]) -> frozenset[Key] | None:
    """The databases (or the databases behind the poolers) that references name; None when
    they name none, which leaves every database in scope."""
    found: set[Key] = set()
    for database in databases:
        if any(refers_to(ref, alias) for ref in refs
               for alias in database.aliases | {database.where.address}):
            found.add(database.where.key)
    for pooler in poolers:
        if any(refers_to(ref, alias) for ref in refs
               for alias in pooler.aliases | {pooler.where.address}):
            found |= {d.where.key for d in databases
                      if any(refers_to(target, alias) for target in pooler.target_refs
                             for alias in d.aliases | {d.where.address})}
    return frozenset(found) or None
