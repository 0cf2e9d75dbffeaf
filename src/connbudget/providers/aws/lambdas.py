"""Lambda functions as clients: every concurrent execution environment holds its own connection
or pool ("Initialize SDK clients and database connections outside of the function handler"),
so a function opens environments x processes x pool.

What bounds the environments (data/compute_facts.csv, each row with its source):
- `reserved_concurrent_executions` N >= 0 caps the function at N, every version included (0
  disables it); unset or -1, the function shares the account's unreserved concurrency (1,000
  per Region by default, lower for new accounts, raised by quota): no bound the files give,
  so the count is unknown and CB103 asks for the reservation;
- an SQS `aws_lambda_event_source_mapping`'s `scaling_config.maximum_concurrency` caps what
  that source alone can run, not the function: the budget says it beside the bound;
- `aws_lambda_provisioned_concurrency_config` keeps environments initialized, with their
  connections, even when idle.
A new version runs no environments beyond the reservation: no surge during a deploy.

The terraform-aws-modules/lambda/aws inputs (`reserved_concurrent_executions`,
`provisioned_concurrent_executions`, `environment_variables`, `event_source_mapping`) are read
with the defaults its variables.tf gives (data/terraform_module_inputs.csv).
"""

from __future__ import annotations

from typing import Any

from connbudget.frontends.terraform.model import ModuleCall, Resource, TerraformModel, Unknown
from connbudget.model import Client, Model, Origin, Value, count, unknown
from connbudget.providers.apps.env import PoolSettings, pool_settings
from connbudget.providers.aws import compute_tables as facts
from connbudget.providers.aws.clients import make_client, map_env
from connbudget.providers.aws.modules import LAMBDA
from connbudget.providers.tfvalues import blocks, located, number, refers, refs, text, where_of
from connbudget.settings import Settings

MODULE = "terraform-aws-modules/lambda/aws"
SETTING = "reserved_concurrent_executions"
_PROVISIONED = "aws_lambda_provisioned_concurrency_config"
# a function's event sources: (address, event_source_arn, its maximum_concurrency when set)
Sources = list[tuple[str, Any, "Value | None"]]


def _is_sqs(value: Any) -> bool:
    literal = text(value)
    return bool(literal and ":sqs:" in literal) or any(
        "aws_sqs_queue." in ref for ref in refs(value))


def _sqs_total(sources: Sources) -> tuple[str, str] | None:
    """The environments the function's SQS sources run at most, and which caps say so."""
    capped = [(address, cap) for address, arn, cap in sources if _is_sqs(arn) and cap]
    if not capped:
        return None
    known = all(cap.known for _, cap in capped)
    total = str(sum(cap.value or 0 for _, cap in capped)) if known else "an unknown number of"
    return total, ", ".join(f"{address} maximum_concurrency {cap.value}"
                            for address, cap in capped)


def _sqs_caps(sources: Sources, reserved: bool) -> list[str]:
    """What the function's event sources say about its environments, in words: each source is
    (its address, its event_source_arn, its maximum_concurrency when set)."""
    notes = []
    found = _sqs_total(sources)
    if found is not None:
        most, parts = found
        notes.append(f"its SQS event sources run at most {most} environments ({parts})"
                     + (f": keep each maximum_concurrency within {SETTING}" if reserved else
                        f", but any other invocation runs more: {SETTING} = {most} would bound "
                        "the function"))
    for address, arn, cap in sources:
        if cap is None:
            kind = "SQS event source" if _is_sqs(arn) else "event source"
            notes.append(f"{address}: its {kind} sets no maximum_concurrency, so it alone can "
                         "use every environment the function may run")
    return notes


def _unreserved(address: str, task: PoolSettings, origin: Origin, sources: Sources) -> Value:
    default = facts.lambda_account_concurrency_default()
    why = (f"{address} sets no {SETTING}: its environments share the account's unreserved "
           "concurrency")
    if default is not None:
        why += (f" ({default.value:,} per Region by default, lower for new accounts and raised "
                f"by quota, {default.cite.source}): no bound the files give")
        if task.pool.known and task.processes.known:
            per = (task.pool.value or 0) * (task.processes.value or 0)
            why += (f"; at {default.value:,} environments that is {default.value * per:,} "
                    "connections")
    queues = _sqs_total(sources)
    if queues is not None:  # what bounds the queue-driven part, in the words CB103 shows
        why += f"; its SQS sources' maximum_concurrency ({queues[1]}) bound only what they run"
    return Value(None, Origin(why, origin.file, origin.line), assumed=True)


def _environments(block: Resource | ModuleCall, attrs: dict[str, Any], task: PoolSettings,
                  default: int | None, sources: Sources) -> Value:
    """What caps the function: its reservation, else the account's unreserved concurrency."""
    raw = attrs.get(SETTING, default)
    if raw is not None and (isinstance(raw, Unknown) or count(raw) is None):
        return number(block, attrs, SETTING, None)  # unresolved, or not a whole number
    written = count(raw)
    if facts.lambda_environments_bound(written) is None:
        return _unreserved(block.address, task, located(block, SETTING, block.address),
                           sources)
    if written is not None and written < 0:  # Lambda takes -1 (unreserved), 0 or more
        where = located(block, SETTING, block.address)
        return unknown(f"{block.address} {SETTING} {written} is no reservation Lambda accepts",
                       where.file, where.line)
    return number(block, attrs, SETTING, None)


def _provisioned(total: int, addresses: list[str]) -> list[str]:
    if not total:
        return []
    return [f"{total} environments are kept initialized by provisioned concurrency "
            f"({', '.join(addresses)}): they hold their connections even when idle"]


def _client(block: Resource | ModuleCall, task: PoolSettings, environments: Value,
            sources: Sources, notes: list[str]) -> Client:
    shared = facts.lambda_versions_share_reserved()
    deploy = Value(environments.value, Origin(
        f"as many as at steady state: a new version adds none ({shared.cite.source})",
        environments.origin.file, environments.origin.line), environments.assumed)
    return make_client("lambda", where_of(block), task, environments, deploy, SETTING,
                       notes=[*_sqs_caps(sources, environments.value is not None), *notes])


def _functions(model: TerraformModel, settings: Settings, out: Model) -> None:
    for function in model.by_type("aws_lambda_function"):
        environment = blocks(function.attrs, "environment")
        env = map_env(function, environment[0].get("variables") if environment else None)
        origin = located(function, "environment", f"{function.address} environment")
        task = pool_settings(env, origin, settings.default_pool_sizes)
        if not task.is_client:
            continue
        sources = [(mapping.address, mapping.attrs.get("event_source_arn"),
                    number(mapping, config, "maximum_concurrency", None, ("scaling_config",))
                    if "maximum_concurrency" in config else None)
                   for mapping in model.by_type("aws_lambda_event_source_mapping")
                   if refers(mapping.attrs.get("function_name"), function)
                   for config in (blocks(mapping.attrs, "scaling_config") or [{}])]
        provisioned = [config for config in model.by_type(_PROVISIONED)
                       if refers(config.attrs.get("function_name"), function)]
        warm = sum(count(c.attrs.get("provisioned_concurrent_executions")) or 0
                   for c in provisioned)
        environments = _environments(function, function.attrs, task, None, sources)
        out.clients.append(_client(function, task, environments, sources,
                                   _provisioned(warm, [c.address for c in provisioned])))


def _module_default(name: str) -> Any:
    found = facts.module_input(MODULE, name)
    return count(found.default) if found is not None else None


def _created(call: ModuleCall) -> bool:
    return all(call.inputs.get(name, name != "create_layer") is (name != "create_layer")
               for name in ("create", "create_function", "create_layer"))


def _modules(model: TerraformModel, settings: Settings, out: Model) -> None:
    for call in model.modules:
        if not LAMBDA.search(call.source) or not _created(call):
            continue
        env = map_env(call, call.inputs.get("environment_variables"))
        origin = located(call, "environment_variables", f"{call.address} environment_variables")
        task = pool_settings(env, origin, settings.default_pool_sizes)
        if not task.is_client:
            continue
        mappings = call.inputs.get("event_source_mapping")
        sources = []
        for key, mapping in (mappings.items() if isinstance(mappings, dict) else ()):
            if not isinstance(mapping, dict):
                continue
            config = mapping.get("scaling_config")
            capped = isinstance(config, dict) and config.get("maximum_concurrency") is not None
            sources.append((f'{call.address} event_source_mapping["{key}"]',
                            mapping.get("event_source_arn"),
                            number(call, config, "maximum_concurrency", None)
                            if capped and isinstance(config, dict) else None))
        environments = _environments(call, call.inputs, task, _module_default(SETTING),
                                     sources)
        warm = count(call.inputs.get("provisioned_concurrent_executions",
                                     _module_default("provisioned_concurrent_executions")))
        out.clients.append(_client(call, task, environments, sources, _provisioned(
            warm if warm and warm > 0 else 0,
            [f"{call.address} provisioned_concurrent_executions"])))


def clients(model: TerraformModel, settings: Settings, out: Model) -> None:
    """Lambda functions (resources and terraform-aws-modules/lambda calls) into `out`."""
    _functions(model, settings, out)
    _modules(model, settings, out)
