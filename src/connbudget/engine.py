"""What each command runs: front ends into the model, rules over the model, one report."""

from __future__ import annotations

from connbudget.discover import Inputs, discover
from connbudget.report import InputError, Report
from connbudget.settings import Settings


def _missing(inputs: Inputs) -> list[InputError]:
    return [InputError(path, 0, "no such file or directory") for path in inputs.missing]


def _role_report(documents: list[dict[str, object]]) -> Report:
    from connbudget.rego import evaluate_documents

    return Report(findings=evaluate_documents(documents))


def check_sql(paths: list[str], settings: Settings) -> Report:
    from connbudget.sqlfront import read_sql

    inputs = discover(paths, settings.exclude)
    result = read_sql(inputs.sql)
    report = _role_report(result.documents)
    report.findings.extend(result.findings)
    report.errors.extend(result.errors)
    report.errors.extend(_missing(inputs))
    return report


def check_capacity(paths: list[str], settings: Settings) -> Report:
    from connbudget.capacity import analyze

    inputs = discover(paths, settings.exclude)
    report = analyze(inputs, settings)
    report.errors.extend(_missing(inputs))
    return report


def scan(paths: list[str], settings: Settings) -> Report:
    from connbudget.capacity import analyze
    from connbudget.sqlfront import read_sql

    inputs = discover(paths, settings.exclude)
    report = Report(errors=_missing(inputs))
    if inputs.sql:
        result = read_sql(inputs.sql)
        report.extend(_role_report(result.documents))
        report.findings.extend(result.findings)
        report.errors.extend(result.errors)
    # analyze() also turns Terraform postgresql_role resources into role documents
    # and judges them with the same policies as SQL roles.
    report.extend(analyze(inputs, settings, role_rules=True))
    return report
