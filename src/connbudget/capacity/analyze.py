"""The capacity analyzer: model from the front ends, a budget per database, CB101-CB108."""

from __future__ import annotations

from typing import TYPE_CHECKING

from connbudget.budgets import Verdict
from connbudget.capacity.budget import (
    Budget,
    budget_view,
    build_budget,
    pin_origin,
    reserved_defaults,
)
from connbudget.capacity.edits import resolve
from connbudget.capacity.match import match, place
from connbudget.capacity.related import attach
from connbudget.model import Database, Location, Model, Origin, Value
from connbudget.report import Edit, Finding, Report
from connbudget.rules.capacity import evaluate

if TYPE_CHECKING:
    from connbudget.discover import Inputs
    from connbudget.frontends.terraform.model import TerraformModel
    from connbudget.settings import Settings

def _pinned_only(model: Model, settings: Settings) -> None:
    """Databases known only from [tool.connbudget.databases] (e.g. a Kubernetes-only repo)."""
    known = {d.where.address for d in model.databases}
    for address, pin in sorted(settings.databases.items()):
        if address in known:
            continue
        origin = pin_origin(address)
        missing = Value(None, origin, assumed=True)
        (_, superuser), (_, rds_superuser) = reserved_defaults()
        if not address.startswith(("aws_db_instance.", "aws_rds_cluster.", "module.")):
            # nothing says it is RDS: a pin of `reserved` states RDS's 2 extra slots if it is
            rds_superuser = Value(0, Origin("a pinned database not known to be RDS: no "
                                            "rds.rds_superuser_reserved_connections"))
        model.databases.append(Database(
            Location(address, "", 0), "postgres", None,
            Value(pin.max_connections, origin) if pin.max_connections is not None else missing,
            superuser, rds_superuser, aliases={address}))


def _verdict(finding: Finding | None) -> Verdict:
    if finding is None:
        return Verdict()
    return Verdict(finding.rule_id, finding.severity, tuple(finding.fix.splitlines()))


def build_model(inputs: Inputs, settings: Settings, terraform: TerraformModel | None) -> Model:
    model = Model()
    roots: list[str] = []
    if terraform is not None:
        from connbudget.providers.aws.terraform import from_terraform, roots_of

        model = from_terraform(terraform, settings)
        roots = roots_of(terraform)
    if inputs.pgbouncer:
        from connbudget.providers.pgbouncer.poolers import from_ini_files

        poolers, errors, comments = from_ini_files(inputs.pgbouncer, settings)
        model.poolers.extend(poolers)
        model.errors.extend(errors)
        model.comments.update(comments)
    if inputs.kubernetes:
        from connbudget.providers.kubernetes.workloads import from_kubernetes

        found = from_kubernetes(inputs.kubernetes, settings, roots)
        model.poolers.extend(found.poolers)
        model.clients.extend(found.clients)
        model.errors.extend(found.errors)
        model.comments.update(found.comments)
        from connbudget.providers.kubernetes.operators import apply_mounted_ini, from_operators

        operators = from_operators(found.documents)
        model.databases.extend(operators.databases)
        model.poolers.extend(operators.poolers)
        model.errors.extend(operators.errors)
        apply_mounted_ini(model.poolers, operators.mounted_ini)
    if inputs.compose:
        from connbudget.providers.compose import from_compose

        from_compose(inputs.compose, settings, model)
    _pinned_only(model, settings)
    place(model, roots)
    if terraform is not None:
        from connbudget.capacity.roots import join

        join(model, terraform, roots)
    return model


def analyze(inputs: Inputs, settings: Settings, terraform: TerraformModel | None) -> Report:
    model = build_model(inputs, settings, terraform)
    findings = match(model, settings)
    if any(pooler.pgbouncer is not None for pooler in model.poolers):
        from connbudget.providers.pgbouncer.poolers import settle

        settle(model, settings)
    budgets = [build_budget(database, model, settings) for database in model.databases]
    evaluation = evaluate(model, budgets)
    findings.extend(evaluation.findings)
    findings = attach(resolve([f for f in findings if f.rule_id not in settings.disabled_rules]),
                      budgets, model)
    views = [budget_view(budget, _verdict(evaluation.verdict(budget.database.where.key,
                                                             settings.disabled_rules)))
             for budget in budgets]
    return Report(findings=findings, budgets=views, errors=model.errors,
                  comments=model.comments,
                  role_fixes=_role_fixes(model, budgets))


def _role_fixes(model: Model, budgets: list[Budget]) -> dict[tuple[str, str],
                                                            tuple[str, tuple[Edit, ...]]]:
    from connbudget.rules.role_limits import unlimited_role_fixes

    fixes = unlimited_role_fixes(model, budgets)
    placed = resolve([Finding("CB001", fix.text, file, 0, address, fix.text, edits=fix.edits)
                      for (file, address), fix in fixes.items()])
    return {(f.file, f.resource): (f.fix, f.edits) for f in placed}
