"""What each command runs: front ends into the model, rules over the model, one report."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from connbudget.discover import Inputs
from connbudget.errors import InputError
from connbudget.report import Report
from connbudget.settings import Settings

if TYPE_CHECKING:
    from connbudget.capacity.budget import Budget
    from connbudget.capacity.model import Model
    from connbudget.frontends.terraform import TerraformModel


def _missing(inputs: Inputs) -> list[InputError]:
    return [InputError(path, 0, "no such file or directory") for path in inputs.missing]


def _role_report(documents: list[dict[str, Any]]) -> Report:
    from connbudget.rego import evaluate_documents

    return Report(findings=evaluate_documents(documents))


def _sql_report(inputs: Inputs) -> Report:
    from connbudget.frontends.sql import read_sql

    result = read_sql(inputs.sql)
    report = _role_report(result.documents)
    report.findings.extend(result.findings)
    report.errors.extend(result.errors)
    return report


def _terraform(inputs: Inputs, settings: Settings) -> TerraformModel | None:
    if not inputs.terraform_dirs and not inputs.plans:
        return None
    from connbudget.frontends.terraform import TerraformModel, load_terraform

    model = TerraformModel()
    if inputs.terraform_dirs:
        model = load_terraform(inputs.terraform_dirs, inputs.var_files + settings.var_files,
                               cache=settings.cache)
    if inputs.plans:
        from connbudget.frontends.terraform.plan import load_plans

        plans = load_plans(inputs.plans)
        model.resources.extend(plans.resources)
        model.errors.extend(plans.errors)
    return model


def check_sql(inputs: Inputs, settings: Settings) -> Report:
    report = _sql_report(inputs)
    report.errors.extend(_missing(inputs))
    return report


def _capacity_report(inputs: Inputs, settings: Settings,
                     terraform: TerraformModel | None) -> Report:
    from connbudget.capacity import analyze

    report = analyze(inputs, settings, terraform)
    if terraform is not None:
        report.errors.extend(terraform.errors)
    return report


def _notes(inputs: Inputs, settings: Settings, report: Report, checked: bool) -> None:
    """CB110: what was recognised but not read; a run that found nothing to check."""
    from connbudget.notes import nothing_to_check, unread

    notes = unread(inputs)
    notes += nothing_to_check(inputs.paths, report, checked or bool(notes))
    report.findings.extend(n for n in notes if n.rule_id not in settings.disabled_rules)


def check_capacity(inputs: Inputs, settings: Settings) -> Report:
    report = _capacity_report(inputs, settings, _terraform(inputs, settings))
    report.errors.extend(_missing(inputs))
    _notes(inputs, settings, report, False)
    return report


def scan(inputs: Inputs, settings: Settings) -> Report:
    report = Report(errors=_missing(inputs))
    if inputs.sql:
        report.extend(_sql_report(inputs))
    terraform = _terraform(inputs, settings)
    roles = False
    if terraform is not None:
        from connbudget.frontends.terraform.roles import role_documents

        documents = role_documents(terraform)
        roles = bool(documents)
        report.extend(_role_report(documents))
    report.extend(_capacity_report(inputs, settings, terraform))
    _notes(inputs, settings, report, bool(inputs.sql) or roles)
    return report


def capacity_model(inputs: Inputs, settings: Settings) -> tuple[Model, list[Budget],
                                                               list[InputError]]:
    """The model and budgets a report is made from, for what is generated from them."""
    from connbudget.capacity import build_model
    from connbudget.capacity.budget import build_budget

    terraform = _terraform(inputs, settings)
    model = build_model(inputs, settings, terraform)
    budgets = [build_budget(database, model, settings) for database in model.databases]
    errors = [*_missing(inputs), *model.errors, *(terraform.errors if terraform else [])]
    return model, budgets, errors
