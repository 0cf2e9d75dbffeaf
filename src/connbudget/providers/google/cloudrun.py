"""Cloud Run services and jobs as clients of Cloud SQL.

- `google_cloud_run_v2_service`: up to `template.scaling.max_instance_count` instances per
  revision, 100 when unset (Google's server default); a service-level `scaling` block's
  `max_instance_count` bounds all revisions together, and `scaling_mode = "MANUAL"` runs
  `manual_instance_count`. How many instances of the old revision run beside the new one
  during a rollout Google does not document: the deploy is unknown, and said so.
- `google_cloud_run_service` (v1): the revision template's annotation
  `autoscaling.knative.dev/maxScale`, 100 when unset.
- `google_cloud_run_v2_job`: one execution runs `parallelism` tasks at once (every task when
  it is 0 or unset), never more than `task_count` (default 1); each task is one instance.

Each instance runs the containers of its template: their environment gives the pool (and the
processes), as for any container; the Cloud SQL instances the revision mounts
(`volumes.cloud_sql_instance.instances`, or the v1 annotation
`run.googleapis.com/cloudsql-instances`) and any `/cloudsql/<connection name>` socket in the
environment tie it to its database.
"""

from __future__ import annotations

from typing import Any

from connbudget.frontends.terraform.model import Resource, TerraformModel, Unknown, line_of
from connbudget.model import Client, Model, Origin, Value, count, unknown
from connbudget.providers.apps.commands import apply_command, words
from connbudget.providers.apps.env import EnvVar, PoolSettings, merge, pool_settings
from connbudget.providers.google import tables
from connbudget.providers.tfvalues import BlockPath, blocks, located_at, location, refs, text
from connbudget.settings import Settings

SERVICE, SERVICE_V1, JOB = ("google_cloud_run_v2_service", "google_cloud_run_service",
                            "google_cloud_run_v2_job")
CLOUDSQL_ANNOTATION = "run.googleapis.com/cloudsql-instances"
# an env block, as the fix writes a variable
STYLE = "hcl-block"


def _first(attrs: Any, *keys: str) -> dict[str, Any]:
    node: Any = attrs
    for key in keys:
        found = blocks(node, key) if isinstance(node, dict) else []
        node = found[0] if found else {}
    return node if isinstance(node, dict) else {}


def _env(res: Resource, container: dict[str, Any], path: BlockPath) -> dict[str, EnvVar]:
    """A container's env blocks, each variable at the line of its value; a secret's value
    (`value_source.secret_key_ref`) is never read."""
    env: dict[str, EnvVar] = {}
    for index, entry in enumerate(blocks(container, "env")):
        name = entry.get("name")
        if not isinstance(name, str):
            continue
        origin = located_at(res, (*path, ("env", index)), "value", name)
        file, line = (origin.file, origin.line) if origin.line != res.line else ("", 0)
        value = entry.get("value")
        found = tuple(sorted(refs(value)))
        if _first(entry, "value_source", "secret_key_ref") or _first(entry, "value_from"):
            env[name] = EnvVar(name, None, found, secret=True, source="a Secret Manager secret")
        elif isinstance(value, Unknown):
            partial = value.partial if value.partial and "${" in value.partial else None
            env[name] = EnvVar(name, partial, found, file=file, line=line)
        else:
            env[name] = EnvVar(name, None if value is None else str(value), found, file=file,
                               line=line)
    return env


def _instances(value: Any) -> set[str]:
    """What a list of Cloud SQL instances names: references, and literal connection names."""
    found = refs(value)
    items = value if isinstance(value, list) else [value]
    found |= {item.strip().lower() for item in items
              if isinstance(item, str) and "${" not in item}
    return found


def _mounted(template: dict[str, Any]) -> tuple[set[str], set[str]]:
    """The Cloud SQL instances the revision mounts, and the names of those volumes."""
    instances: set[str] = set()
    names: set[str] = set()
    for volume in blocks(template, "volumes"):
        for sql in blocks(volume, "cloud_sql_instance"):
            instances |= _instances(sql.get("instances"))
            if isinstance(volume.get("name"), str):
                names.add(volume["name"])
    return instances, names


def _containers(res: Resource, template: dict[str, Any], path: BlockPath, key: str,
                settings: Settings, mounts: set[str], instances: set[str]) -> PoolSettings | None:
    """What one instance opens: its database-facing containers summed. A container that
    mounts a Cloud SQL volume (or, for v1 and a socket-less template, any container of a
    revision connected to an instance) talks to it even when its environment names no host."""
    found = []
    for index, container in enumerate(blocks(template, key)):
        inner = (*path, (key, index))
        origin = Origin(f"{res.address} container {container.get('name') or index}", res.file,
                        located_at(res, inner, "image", "").line)
        item = pool_settings(_env(res, container, inner), origin, settings.default_pool_sizes)
        apply_command(item, [*words(container.get("command")), *words(container.get("args"))],
                      origin)
        mounted = {m.get("name") for m in blocks(container, "volume_mounts")}
        if instances and (mounted & mounts or not mounts):
            item.is_client = True
        item.refs |= instances
        found.append(item)
    return merge(found)


def _cap(res: Resource, attrs: dict[str, Any], path: BlockPath, key: str,
         ) -> Value | None:
    """A whole number a block sets, at its value's position; None when unset."""
    raw = attrs.get(key)
    origin = located_at(res, path, key, f"{res.address} {'.'.join(p for p, _ in path)}.{key}")
    if raw is None:
        return None
    if isinstance(raw, Unknown):
        return unknown(f"{origin.text} = {raw.expression} is unresolved ({raw.reason})",
                       origin.file, origin.line)
    found = count(raw)
    if found is None:
        return unknown(f"{origin.text} is not a whole number", origin.file, origin.line)
    return Value(found, origin)


def _default_max() -> Value:
    found = tables.cloud_run_max_instances_default()
    assert found is not None
    return Value(found.value, Origin(f"default: max_instance_count {found.value} (Cloud Run "
                                     f"server default, {found.cite})"))


def _rollout() -> Value:
    return unknown("instances during a rollout unknown: Google does not document how many "
                   "instances of the old revision run beside the new one "
                   f"({tables.cite('cloud_run.rollout_overlap')})")


def _service_scale(res: Resource) -> tuple[Value, str]:
    """The most instances a v2 service runs at once, and the setting that caps it."""
    template = (("template", 0), ("scaling", 0))
    revision = _cap(res, _first(res.attrs, "template", "scaling"), template,
                    "max_instance_count")
    service = _first(res.attrs, "scaling")
    if text(service.get("scaling_mode")) == "MANUAL":
        manual = _cap(res, service, (("scaling", 0),), "manual_instance_count")
        if manual is not None:
            return manual, "scaling.manual_instance_count"
    total = _cap(res, service, (("scaling", 0),), "max_instance_count")
    scale = revision or _default_max()
    if total is not None and (not total.known or not scale.known
                              or (total.value or 0) < (scale.value or 0)):
        return total, "scaling.max_instance_count"
    return scale, "template.scaling.max_instance_count"


def _client(res: Resource, task: PoolSettings, scale: Value, deploy: Value, setting: str,
            platform: str, notes: list[str]) -> Client:
    return Client(platform, location(res), scale, deploy, task.processes, task.pool,
                  task.pool_setting, setting, autoscaled=platform == "cloud-run", refs=task.refs,
                  user=task.user, database=task.database, notes=[*task.notes, *notes],
                  env_style=STYLE, deploy_setting="")


def _services(model: TerraformModel, settings: Settings, out: Model) -> None:
    for res in model.by_type(SERVICE):
        template = _first(res.attrs, "template")
        instances, mounts = _mounted(template)
        task = _containers(res, template, (("template", 0),), "containers", settings, mounts,
                           instances)
        if task is not None:
            scale, setting = _service_scale(res)
            out.clients.append(_client(res, task, scale, _rollout(), setting, "cloud-run", []))


def _v1_scale(res: Resource, annotations: dict[str, Any]) -> Value:
    key = tables.cloud_run_v1_max_scale_annotation()
    assert key is not None
    raw = annotations.get(key.value)
    if raw is None:
        return _default_max()
    line = line_of(res, key.value)
    origin = Origin(f'{res.address} template.metadata.annotations "{key.value}"', res.file, line)
    found = None if isinstance(raw, Unknown) else count(raw)
    if found is None:
        return unknown(f"{origin.text} is not a whole number or unresolved", res.file, line)
    return Value(found, origin)


def _services_v1(model: TerraformModel, settings: Settings, out: Model) -> None:
    for res in model.by_type(SERVICE_V1):
        annotations = _first(res.attrs, "template", "metadata").get("annotations")
        annotations = annotations if isinstance(annotations, dict) else {}
        instances = _instances(annotations.get(CLOUDSQL_ANNOTATION)) \
            if CLOUDSQL_ANNOTATION in annotations else set()
        spec = _first(res.attrs, "template", "spec")
        task = _containers(res, spec, (("template", 0), ("spec", 0)), "containers", settings,
                           set(), instances)
        if task is not None:
            key = tables.cloud_run_v1_max_scale_annotation()
            setting = f'template.metadata.annotations "{key.value if key else "maxScale"}"'
            out.clients.append(_client(res, task, _v1_scale(res, annotations), _rollout(),
                                       setting, "cloud-run", []))


def _job_tasks(res: Resource, execution: dict[str, Any]) -> tuple[Value, str]:
    """Tasks one execution runs at once, at the setting that bounds them."""
    path = (("template", 0),)
    tasks, parallel = (_cap(res, execution, path, "task_count"),
                       _cap(res, execution, path, "parallelism"))
    for value in (tasks, parallel):
        if value is not None and not value.known:
            return value, "template.parallelism"
    found = tables.cloud_run_job_tasks_at_once(tasks.value if tasks else None,
                                               parallel.value if parallel else None)
    if parallel is not None and parallel.value and found.value == parallel.value:
        return parallel, "template.parallelism"
    if tasks is not None:
        return (Value(found.value, Origin(f"{tasks.origin.text} ({found.note}: {found.cite})",
                                          tasks.origin.file, tasks.origin.line,
                                          tasks.origin.column, tasks.origin.end_column)),
                "template.task_count")
    return (Value(found.value, Origin(f"default: task_count {found.value}, every task at once "
                                      f"(Cloud Run jobs, {found.cite})")), "template.task_count")


def _jobs(model: TerraformModel, settings: Settings, out: Model) -> None:
    concurrent = tables.cite("cloud_run_job.concurrent_executions")
    for res in model.by_type(JOB):
        execution = _first(res.attrs, "template")
        template = _first(execution, "template")
        instances, mounts = _mounted(template)
        task = _containers(res, template, (("template", 0), ("template", 0)), "containers",
                           settings, mounts, instances)
        if task is None:
            continue
        scale, setting = _job_tasks(res, execution)
        deploy = Value(scale.value, Origin("one execution: a job does not roll")) \
            if scale.known else scale
        note = ("an execution started while another runs (a scheduler, a retry) runs tasks of "
                f"its own: one execution is a lower bound ({concurrent})")
        out.clients.append(_client(res, task, scale, deploy, setting, "cloud-run-job", [note]))


def clients(model: TerraformModel, settings: Settings, out: Model) -> None:
    """Cloud Run services (v2 and v1) and jobs into `out`."""
    _services(model, settings, out)
    _services_v1(model, settings, out)
    _jobs(model, settings, out)
