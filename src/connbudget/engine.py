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
    if not inputs.terraform_dirs:
        return None
    from connbudget.frontends.terraform import load_terraform

    return load_terraform(inputs.terraform_dirs, inputs.var_files + settings.var_files,
                          cache=settings.cache)


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


def check_capacity(inputs: Inputs, settings: Settings) -> Report:
    report = _capacity_report(inputs, settings, _terraform(inputs, settings))
    report.errors.extend(_missing(inputs))
    return report


def scan(inputs: Inputs, settings: Settings) -> Report:
    report = Report(errors=_missing(inputs))
    if inputs.sql:
        report.extend(_sql_report(inputs))
    terraform = _terraform(inputs, settings)
    if terraform is not None:
        from connbudget.frontends.terraform.roles import role_documents

        report.extend(_role_report(role_documents(terraform)))
    report.extend(_capacity_report(inputs, settings, terraform))
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
