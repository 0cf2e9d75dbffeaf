"""ECS tasks an EventBridge rule starts (`aws_cloudwatch_event_target` with an `ecs_target`):
each run starts `task_count` tasks of the task definition (1 when unset, EventBridge
`EcsParameters`), beside whatever services run the same database. The target's `input` may
override a container's command and environment (`containerOverrides`), as ECS applies it.

Whether a run starts while the previous run's tasks still run is not documented
(data/compute_facts.csv): the budget counts one run and says so.
"""

from __future__ import annotations

from typing import Any

from connbudget.frontends.terraform.decode import decode_json
from connbudget.frontends.terraform.model import Resource, TerraformModel
from connbudget.model import Model, Origin, Unread, Value, unknown
from connbudget.providers.aws import compute_tables as facts
from connbudget.providers.aws.clients import make_client
from connbudget.providers.aws.ecs import STYLE, containers, task_settings
from connbudget.providers.tfvalues import blocks, located, number, refers, where_of
from connbudget.settings import Settings

SETTING = "task_count"


def _overridden(defined: list[dict[str, Any]], given: Any) -> list[dict[str, Any]]:
    """The containers with the target's `containerOverrides` applied: a command replaces the
    container's, environment entries replace or add variables of the same name."""
    data = given if isinstance(given, dict) else decode_json(given) if given else None
    overrides = data.get("containerOverrides") if isinstance(data, dict) else None
    by_name = {o.get("name"): o for o in overrides or [] if isinstance(o, dict)}
    result = []
    for container in defined:
        override = by_name.get(container.get("name"))
        if override is None:
            result.append(container)
            continue
        changed = dict(container)
        if "command" in override:
            changed["command"] = override["command"]
        extra = [e for e in override.get("environment") or [] if isinstance(e, dict)]
        names = {e.get("name") for e in extra}
        changed["environment"] = [e for e in blocks(container, "environment")
                                  if e.get("name") not in names] + extra
        result.append(changed)
    return result


def _tasks(target: Resource, ecs: dict[str, Any]) -> Value:
    if ecs.get(SETTING) is not None:
        return number(target, ecs, SETTING, None, ("ecs_target",))
    default = facts.eventbridge_ecs_task_count_default()
    if default is None:
        return unknown(f"{target.address} sets no task_count, and EventBridge documents no "
                       "default", target.file, target.line)
    return Value(default.value, Origin(f"default: task_count {default.value} (EventBridge "
                                       f"EcsParameters, {default.cite.source})"))


def _overlap(rule: Resource | None) -> str:
    schedule = rule.attrs.get("schedule_expression") if rule is not None else None
    when = f" ({schedule})" if isinstance(schedule, str) else ""
    return (f"one run of the schedule{when} is counted: whether EventBridge starts a run while "
            "the previous run's tasks still run is not documented")


def clients(model: TerraformModel, settings: Settings, out: Model) -> None:
    """Scheduled ECS tasks into `out`."""
    for target in model.by_type("aws_cloudwatch_event_target"):
        for ecs in blocks(target.attrs, "ecs_target"):
            definition = next((d for d in model.by_type("aws_ecs_task_definition")
                               if refers(ecs.get("task_definition_arn"), d)), None)
            if definition is None:
                # its task definition is an ARN or lives in another root: what its tasks open
                # is not read, and that is said, never counted as nothing
                out.unread.append(Unread(
                    target.address, "an EventBridge rule running ECS tasks whose task "
                    "definition is not in the scanned files, so what its tasks open is not read",
                    target.file, target.line,
                    "scan the Terraform that defines its task definition together with this "
                    "root, or count its worst case yourself (task_count x processes x pool) and "
                    "record it above the resource: # connbudget:ignore CB111 <the count and why "
                    "it fits>", kind="client", root=target.root))
                continue
            origin = located(definition, "container_definitions",
                             f"{definition.address} container_definitions")
            defined = _overridden(containers(definition.attrs.get("container_definitions")),
                                  target.attrs.get("input"))
            task = task_settings(defined, origin, settings, definition)
            if task is None:
                continue
            rule = next((r for r in model.by_type("aws_cloudwatch_event_rule")
                         if refers(target.attrs.get("rule"), r)), None)
            tasks = _tasks(target, ecs)
            out.clients.append(make_client("scheduled-task", where_of(target), task, tasks,
                                           tasks, SETTING, STYLE[0], [_overlap(rule)]))
