"""Azure App Service apps as clients: every instance of the app's plan runs the app.

Instances: the largest `capacity.maximum` of an `azurerm_monitor_autoscale_setting` whose
`target_resource_id` is the plan, else the plan's `worker_count` (with per-site scaling, the
app's own `site_config.worker_count`). Microsoft documents no default `worker_count`: unset,
the count is unknown, never guessed. How many instances run old and new code at once while a
deployment or a slot swap runs is not documented either: unknown. A deployment slot is an app
of its own on the same plan.

Environment: `app_settings` (a map) and `connection_string` blocks (of type PostgreSQL, the
variable `POSTGRESQLCONNSTR_<name>`; their values are read for what they name, never kept);
`site_config.app_command_line` gives gunicorn's or puma's workers.
"""

from __future__ import annotations

from typing import Any

from connbudget.frontends.terraform.model import Resource, TerraformModel, Unknown, line_of
from connbudget.model import Client, Model, Origin, Value, unknown
from connbudget.providers.apps.commands import apply_command, words
from connbudget.providers.apps.env import EnvVar, pool_settings
from connbudget.providers.azure import tables
from connbudget.providers.azure.containerapps import secret_refs
from connbudget.providers.tfvalues import blocks, location, number, refers, refs, text
from connbudget.settings import Settings

APPS = ("azurerm_linux_web_app", "azurerm_windows_web_app")
SLOTS = ("azurerm_linux_web_app_slot", "azurerm_windows_web_app_slot")
PLAN = "azurerm_service_plan"
AUTOSCALE = "azurerm_monitor_autoscale_setting"
PLATFORM = "app-service"
STYLE = "hcl-map"  # app_settings = { NAME = "value" }


def _first(attrs: Any, key: str) -> dict[str, Any]:
    found = blocks(attrs, key) if isinstance(attrs, dict) else []
    return found[0] if found else {}


def _env(res: Resource) -> dict[str, EnvVar]:
    env: dict[str, EnvVar] = {}
    settings = res.attrs.get("app_settings")
    for name, value in (settings.items() if isinstance(settings, dict) else ()):
        line = line_of(res, name)
        file, line = (res.file, line) if line != res.line else ("", 0)
        found = tuple(sorted(refs(value)))
        if isinstance(value, Unknown):
            partial = value.partial if value.partial and "${" in value.partial else None
            env[name] = EnvVar(name, partial, found, file=file, line=line)
        else:
            env[name] = EnvVar(name, None if value is None else str(value), found, file=file,
                               line=line)
    prefix = tables.fact("app_service.connection_string_prefix")
    for entry in blocks(res.attrs, "connection_string"):
        name, kind = text(entry.get("name")), text(entry.get("type"))
        if name and (kind or "").lower() == "postgresql":
            variable = f"{prefix.value if prefix else ''}{name}"
            env[variable] = EnvVar(variable, None, secret_refs(entry.get("value")), secret=True,
                                   source=f"App Service connection string {name}")
    return env


def _autoscale_max(model: TerraformModel, plan: Resource) -> Value | None:
    """The largest maximum of the autoscale settings that target the plan."""
    found: list[Value] = []
    for setting in model.by_type(AUTOSCALE):
        if not refers(setting.attrs.get("target_resource_id"), plan):
            continue
        for profile in blocks(setting.attrs, "profile"):
            found.append(number(setting, _first(profile, "capacity"), "maximum", None))
    if not found:
        return None
    if any(not value.known for value in found):
        return next(value for value in found if not value.known)
    return max(found, key=lambda value: value.value or 0)


def _worker_count(plan: Resource) -> Value:
    if plan.attrs.get("worker_count") is not None:
        return number(plan, plan.attrs, "worker_count", None)
    return unknown(f"{plan.address} sets no worker_count, and Microsoft documents no default "
                   f"({tables.cite('app_service.worker_count_default')})", plan.file, plan.line)


def _instances(model: TerraformModel, app: Resource, plan: Resource | None,
               ) -> tuple[Value, str]:
    """How many instances run the app, and the setting that caps them."""
    if plan is None:
        return unknown(f"the service plan of {app.address} is not in the files", app.file,
                       app.line), "worker_count"
    own = _first(app.attrs, "site_config").get("worker_count")
    if plan.attrs.get("per_site_scaling_enabled") is True and own is not None:
        return number(app, _first(app.attrs, "site_config"), "worker_count", None), \
            "site_config.worker_count"
    workers = _worker_count(plan)
    scaled = _autoscale_max(model, plan)
    if scaled is not None and (not scaled.known or not workers.known
                               or (scaled.value or 0) >= (workers.value or 0)):
        return scaled, f"{AUTOSCALE} profile.capacity.maximum"
    return workers, f"{PLAN} worker_count"


def _plan(model: TerraformModel, app: Resource, parent: Resource | None) -> Resource | None:
    ref = app.attrs.get("service_plan_id")
    if ref is None and parent is not None:
        ref = parent.attrs.get("service_plan_id")
    return next((plan for plan in model.by_type(PLAN) if refers(ref, plan)), None)


def clients(model: TerraformModel, settings: Settings, out: Model) -> None:
    apps = [app for kind in APPS for app in model.by_type(kind)]
    slots = [slot for kind in SLOTS for slot in model.by_type(kind)]
    for app in [*apps, *slots]:
        parent = next((a for a in apps if refers(app.attrs.get("app_service_id"), a)), None) \
            if app in slots else None
        origin = Origin(f"{app.address} app_settings", app.file, line_of(app, "app_settings"))
        task = pool_settings(_env(app), origin, settings.default_pool_sizes)
        site = _first(app.attrs, "site_config")
        apply_command(task, words(site.get("app_command_line")), origin)
        if not task.is_client:
            continue
        instances, setting = _instances(model, app, _plan(model, app, parent))
        deploy = unknown("instances during a deployment unknown: Microsoft does not document "
                         "how many run old and new code at once "
                         f"({tables.cite('app_service.deploy_overlap')})")
        out.clients.append(Client(
            PLATFORM, location(app), instances, deploy, task.processes, task.pool,
            task.pool_setting, setting, autoscaled="autoscale" in setting, refs=task.refs,
            user=task.user, database=task.database, notes=task.notes, env_style=STYLE,
            deploy_setting=""))
