"""The Azure adapter: an evaluated Terraform configuration's flexible servers (with their
server parameters and built-in PgBouncer), Container Apps, App Service apps and Azure Monitor
metric alerts, each root read as its own configuration."""

from __future__ import annotations

import re
from collections.abc import Callable

from connbudget.frontends.terraform.model import Resource, TerraformModel, Unknown
from connbudget.model import Model
from connbudget.providers.azure import appservice, containerapps, flexible, monitor
from connbudget.providers.azure.flexible import CONFIGURATION, TYPE, Parameter, Server
from connbudget.providers.context import BuildContext
from connbudget.providers.tfvalues import by_root, located_at, location, refers, text
from connbudget.quoting import split_address


def _parameters(model: TerraformModel, server: Resource) -> dict[str, Parameter]:
    """The server parameters its configuration resources set, each at its value."""
    name = text(server.attrs.get("name"))
    found: dict[str, Parameter] = {}
    for config in model.by_type(CONFIGURATION):
        server_id = config.attrs.get("server_id")
        by_id = isinstance(server_id, str) and name is not None \
            and server_id.rstrip("/").rsplit("/", 1)[-1] == name
        key = text(config.attrs.get("name"))
        if key is None or not (by_id or refers(server_id, server)):
            continue
        origin = located_at(config, (), "value", f"{config.address} value")
        value = config.attrs.get("value")
        if isinstance(value, Unknown):
            found[key] = Parameter(None, origin, f"= {value.expression} is unresolved")
        else:
            found[key] = Parameter(None if value is None else str(value), origin)
    return found


def _writes(server: Resource) -> Callable[[str, str], str]:
    """What sets a parameter of the server: a configuration resource beside it."""
    _, local = split_address(server.address)

    def write(name: str, value: str) -> str:
        label = re.sub(r"\W+", "_", f"{server.name}_{name}")
        return (f'resource "{CONFIGURATION}" "{label}" {{\n'
                f'  name      = "{name}"\n'
                f"  server_id = {local}.id\n"
                f'  value     = "{value}"\n}}')
    return write


def _version(server: Resource) -> int | None:
    version = server.attrs.get("version")
    return int(version) if isinstance(version, (int, str)) and str(version).isdigit() else None


def servers(model: TerraformModel) -> list[Server]:
    found = []
    for res in model.by_type(TYPE):
        sku = text(res.attrs.get("sku_name"))
        found.append(Server(location(res), text(res.attrs.get("name")), sku,
                            located_at(res, (), "sku_name", f"{res.address} sku_name") if sku
                            else None, _version(res), _parameters(model, res), _writes(res)))
    return found


def read_servers(found: list[Server], out: Model) -> None:
    """Databases, built-in PgBouncers and their errors of the servers a front end read."""
    for server in found:
        out.databases.append(flexible.database(server))
        pooler, errors = flexible.builtin_pgbouncer(server)
        if pooler is not None:
            out.poolers.append(pooler)
        out.errors.extend(errors)


def build(parsed: dict[str, TerraformModel], context: BuildContext) -> None:
    out = context.model
    for model in by_root(parsed["terraform"]):
        read_servers(servers(model), out)
        out.alarms += monitor.alarms(model)
        containerapps.clients(model, context.settings, out)
        appservice.clients(model, context.settings, out)
