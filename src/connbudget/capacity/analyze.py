"""The capacity analysis of what the front ends read: the adapters build the model, clients and
poolers are matched to their databases, PgBouncers settle, each database gets its budget, and
the rules judge it."""

from __future__ import annotations

from typing import Any

from connbudget.budgets import Verdict
from connbudget.capacity.budget import Budget, budget_view, build_budget, pin_origin
from connbudget.capacity.coverage import (
    INCOMPLETE,
    budget_coverage,
    coverage_of,
    run_coverage,
    unread_views,
)
from connbudget.capacity.edits import Sources
from connbudget.capacity.match import match, place
from connbudget.errors import InputError
from connbudget.model import Database, Location, Model, Value
from connbudget.providers.context import BuildContext
from connbudget.providers.registry import ADAPTERS, platform_of_address
from connbudget.providers.tfvalues import roots_of
from connbudget.report import Finding, Report
from connbudget.settings import Settings


def _pinned_only(model: Model, settings: Settings) -> None:
    """Databases known only from [tool.connbudget.databases] (e.g. a Kubernetes-only repo):
    their platform, and so the slots it reserves, is what the address's form says."""
    known = {d.where.address for d in model.databases}
    for address, pin in sorted(settings.databases.items()):
        if address in known:
            continue
        origin = pin_origin(address)
        platform = platform_of_address(address)
        max_connections = (Value(pin.max_connections, origin) if pin.max_connections is not None
                           else Value(None, origin, assumed=True))
        model.databases.append(Database(
            Location(address, "", 0), "postgres", platform.name, None, max_connections,
            platform.default_reservations(), aliases={address}))


def build_model(parsed: dict[str, Any], settings: Settings) -> Model:
    """The model of the run: every adapter whose input kinds were read, in registry order."""
    terraform = parsed.get("terraform")
    context = BuildContext(settings, roots=roots_of(terraform) if terraform is not None else [])
    for adapter in ADAPTERS:
        if adapter.wanted(parsed):
            adapter.load()(parsed, context)
    model = context.model
    _pinned_only(model, settings)
    place(model, context.roots)
    if terraform is not None:
        from connbudget.capacity.roots import join

        join(model, terraform, context.roots)
    return model


def _verdict(finding: Finding | None) -> Verdict:
    """The verdict a finding gives; an incomplete budget's fixes are those of each thing not
    read, on its own finding."""
    if finding is None:
        return Verdict()
    fix = () if finding.rule_id == INCOMPLETE else tuple(finding.fix.splitlines())
    return Verdict(finding.rule_id, finding.severity, fix)


def budgets_of(model: Model, settings: Settings) -> list[Budget]:
    """Every database's budget, once its clients and poolers are matched and settled."""
    from connbudget.providers.pgbouncer.poolers import settle

    settle(model, settings)
    return [build_budget(database, model, settings) for database in model.databases]


def analyze(parsed: dict[str, Any], settings: Settings, sources: Sources) -> Report:
    from connbudget.rules.capacity import evaluate

    model = build_model(parsed, settings)
    match(model, settings)
    budgets = budgets_of(model, settings)
    covered = coverage_of(model, budgets)
    results = evaluate(model, budgets, covered, settings, sources)
    unread = unread_views(model)
    views = [budget_view(budget, _verdict(results.verdict(key)),
                         budget_coverage(covered[key], unread))
             for budget in budgets for key in [budget.database.where.key]]
    return Report(findings=results.findings, budgets=views, errors=list(model.errors),
                  role_fixes=results.role_fixes, coverage=run_coverage(model, covered, unread))


def capacity_model(parsed: dict[str, Any], settings: Settings,
                   ) -> tuple[Model, list[Budget], list[InputError]]:
    """The model and budgets a report is made from, for what is generated from them."""
    model = build_model(parsed, settings)
    match(model, settings)
    budgets = budgets_of(model, settings)
    return model, budgets, list(model.errors)
