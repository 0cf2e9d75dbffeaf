"""App Runner services as clients: each instance runs the service's image with its environment.

A service scales to the `max_size` of the auto scaling configuration it names
(`aws_apprunner_auto_scaling_configuration_version`), 25 when unset or when it names none
(App Runner's default configuration), and App Runner doubles the instances during a
deployment to keep old and new code at the same capacity (data/compute_facts.csv, with the
sources). Nothing in the service widens or narrows that doubling: the lever is `max_size`.

The terraform-aws-modules/app-runner/aws module links a service to
`auto_scaling_configuration_arn` only; the configurations a call creates
(`auto_scaling_configurations`) apply where another call's ARN names them, e.g.
`module.shared.auto_scaling_configurations["mini"].arn`.
"""

from __future__ import annotations

import re
from typing import Any

from connbudget.frontends.terraform.model import ModuleCall, Resource, TerraformModel, Unknown
from connbudget.model import Model, Origin, Value, count, unknown
from connbudget.providers.apps.commands import apply_command, words
from connbudget.providers.apps.env import EnvVar, PoolSettings, pool_settings
from connbudget.providers.aws import compute_tables as facts
from connbudget.providers.aws.clients import make_client, map_env, secret_env
from connbudget.providers.aws.modules import APP_RUNNER
from connbudget.providers.surge import by_factor
from connbudget.providers.tfvalues import blocks, located, number, refers, refs, where_of
from connbudget.settings import Settings

MODULE = "terraform-aws-modules/app-runner/aws"
_CONFIGURATION = "aws_apprunner_auto_scaling_configuration_version"
# `module.<name>.auto_scaling_configurations["<key>"]` in an ARN's expression
_MODULE_CONFIGURATION = re.compile(
    r"module\.([\w-]+)\.auto_scaling_configurations\[\"([^\"]+)\"\]")
SETTING = "max_size"


def _default_size(why: str) -> Value:
    default = facts.app_runner_max_size_default()
    if default is None:
        return unknown(f"{why}; App Runner documents no default max_size")
    return Value(default.value, Origin(f"default: max_size {default.value} ({why}; App Runner's "
                                       f"default auto scaling configuration, "
                                       f"{default.cite.source})"))


def _key_line(call: ModuleCall, key: str, name: str) -> int:
    """The line of `name` inside the entry `key` of the call's map input, as written."""
    inside = False
    for line, text in call.source_lines:
        stripped = text.strip()
        if re.match(rf"\"?{re.escape(key)}\"?\s*=", stripped):
            inside = True
        elif inside and re.match(rf"{re.escape(name)}\s*=", stripped):
            return line
    return call.line


def _from_module(model: TerraformModel, expression: str) -> Value | None:
    """max_size of a configuration another terraform-aws-modules/app-runner call creates."""
    found = _MODULE_CONFIGURATION.search(expression)
    if found is None:
        return None
    name, key = found.groups()
    call = next((c for c in model.modules if c.address.endswith(f"module.{name}")
                 and APP_RUNNER.search(c.source)), None)
    configurations = call.inputs.get("auto_scaling_configurations") if call else None
    entry = configurations.get(key) if isinstance(configurations, dict) else None
    if call is None or not isinstance(entry, dict):
        return unknown(f"{expression} names no auto scaling configuration of the files")
    size = entry.get(SETTING)
    if size is None:
        return _default_size(f"{call.address} auto_scaling_configurations[\"{key}\"] sets no "
                             "max_size")
    if isinstance(size, Unknown) or count(size) is None:
        return unknown(f"{call.address} auto_scaling_configurations[\"{key}\"] max_size is not "
                       "a whole number the files give", call.file, _key_line(call, key, SETTING))
    return Value(count(size), Origin(f"{call.address} auto_scaling_configurations[\"{key}\"] "
                                     "max_size", call.file, _key_line(call, key, SETTING)))


def _instances(model: TerraformModel, arn: Any, owner: str) -> Value:
    """The most instances the auto scaling configuration `arn` names allows."""
    if arn is None:
        return _default_size(f"{owner} names no auto scaling configuration")
    for configuration in model.by_type(_CONFIGURATION):
        if not refers(arn, configuration):
            continue
        if configuration.attrs.get(SETTING) is None:
            return _default_size(f"{configuration.address} sets no max_size")
        return number(configuration, configuration.attrs, SETTING, None)
    if isinstance(arn, Unknown):
        found = _from_module(model, arn.expression)
        if found is not None:
            return found
    named = ", ".join(sorted(refs(arn))) or "a literal ARN"
    return unknown(f"{owner} auto_scaling_configuration_arn names {named}, whose max_size the "
                   "files do not give")


def _service_env(block: Resource | ModuleCall, configurations: list[dict[str, Any]],
                 ) -> tuple[dict[str, EnvVar], list[str]]:
    env: dict[str, EnvVar] = {}
    command: list[str] = []
    for configuration in configurations:
        env.update(map_env(block, configuration.get("runtime_environment_variables")))
        env.update(secret_env(configuration.get("runtime_environment_secrets"),
                              "an App Runner runtime secret"))
        command += words(configuration.get("start_command"))
    return env, command


def _configurations(source: Any) -> list[dict[str, Any]]:
    """The image or code configurations of a service's `source_configuration`."""
    found: list[dict[str, Any]] = []
    for config in blocks({"source": source}, "source"):
        for image in blocks(config, "image_repository"):
            found += blocks(image, "image_configuration")
        for code in blocks(config, "code_repository"):
            for values in blocks(code, "code_configuration"):
                found += blocks(values, "code_configuration_values")
    return found


def _client(block: Resource | ModuleCall, task: PoolSettings, instances: Value,
            out: Model) -> None:
    factor = facts.app_runner_deployment_multiplier()
    deploy = (by_factor(instances, factor.value, f"App Runner doubles the instances during a "
                                                  f"deployment, {factor.cite.source}", "instance")
              if factor is not None else unknown("App Runner's deployment surge is not known"))
    out.clients.append(make_client("app-runner", where_of(block), task, instances, deploy,
                                   SETTING))


def _settings(block: Resource | ModuleCall, configurations: list[dict[str, Any]], key: str,
              settings: Settings) -> PoolSettings:
    env, command = _service_env(block, configurations)
    origin = located(block, key, f"{block.address} {key}")
    task = pool_settings(env, origin, settings.default_pool_sizes)
    apply_command(task, command, origin)
    return task


def _services(model: TerraformModel, settings: Settings, out: Model) -> None:
    for service in model.by_type("aws_apprunner_service"):
        configurations = _configurations(service.attrs.get("source_configuration"))
        task = _settings(service, configurations, "source_configuration", settings)
        if task.is_client:
            _client(service, task, _instances(model, service.attrs.get(
                "auto_scaling_configuration_arn"), service.address), out)


def _module_default(name: str) -> Any:
    found = facts.module_input(MODULE, name)
    return {"true": True, "false": False}.get(found.default) if found is not None else None


def _modules(model: TerraformModel, settings: Settings, out: Model) -> None:
    for call in model.modules:
        if not APP_RUNNER.search(call.source) or not all(
                call.inputs.get(name, _module_default(name)) is True
                for name in ("create", "create_service")):
            continue
        configurations = _configurations(call.inputs.get("source_configuration"))
        task = _settings(call, configurations, "source_configuration", settings)
        if task.is_client:
            _client(call, task, _instances(model, call.inputs.get(
                "auto_scaling_configuration_arn"), call.address), out)


def clients(model: TerraformModel, settings: Settings, out: Model) -> None:
    """App Runner services (resources and terraform-aws-modules/app-runner calls) into `out`."""
    _services(model, settings, out)
    _modules(model, settings, out)
