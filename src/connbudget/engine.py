"""What each command runs: front ends into the model, rules over the model, one report."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TypeVar

from connbudget.discover import Inputs
from connbudget.errors import InputError
from connbudget.report import Edit, Finding, Report
from connbudget.settings import Settings

if TYPE_CHECKING:
    from connbudget.capacity.budget import Budget
    from connbudget.capacity.model import Model
    from connbudget.frontends.terraform import TerraformModel

T = TypeVar("T")


def _missing(inputs: Inputs) -> list[InputError]:
    errors = [InputError(path, 0, "no such file or directory") for path in inputs.missing]
    errors += [InputError(path, 0, problem) for path, problem in inputs.skipped]
    return errors


def _crash(path: str, exc: BaseException) -> InputError:
    # The exception's message may quote the input: only its kind is shown.
    return InputError(path, 0, f"could not be read ({type(exc).__name__}); skipped, the other "
                      "files were checked")


def isolated(run: Callable[[list[str]], T], paths: list[str],
              errors: list[InputError]) -> T | None:
    """`run(paths)`; when it fails unexpectedly, again without the paths that fail alone.

    Each path that cannot be read alone becomes a located input error in `errors`.
    """
    try:
        return run(paths)
    except (RecursionError, MemoryError, Exception):  # noqa: B014 - the reason is the kind
        pass
    good = []
    for path in paths:
        try:
            run([path])
        except Exception as exc:
            errors.append(_crash(path, exc))
        else:
            good.append(path)
    try:
        return run(good)
    except Exception as exc:
        errors.extend(_crash(path, exc) for path in good)
        return None


def _role_report(documents: list[dict[str, Any]], settings: Settings) -> Report:
    from connbudget.catalogue import RULES

    if all(r.id in settings.disabled_rules for r in RULES.values() if "rego" in r.engines):
        return Report()
    from connbudget.capacity.edits import resolve
    from connbudget.rego import evaluate_documents

    checked = evaluate_documents(documents)
    findings = resolve(checked.findings)
    return Report(findings=[f for f in findings if f.rule_id not in settings.disabled_rules],
                  errors=checked.errors)


def _sql_report(inputs: Inputs, settings: Settings) -> Report:
    from connbudget.frontends.sql import read_sql

    crashed: list[InputError] = []
    result = isolated(read_sql, inputs.sql, crashed)
    report = _role_report(result.documents, settings) if result is not None else Report()
    if result is not None:
        report.findings.extend(f for f in result.findings
                               if f.rule_id not in settings.disabled_rules)
        report.errors.extend(result.errors)
        report.comments.update(result.comments)
    report.errors.extend(crashed)
    return report


def _var_files(settings: Settings, errors: list[InputError]) -> list[str]:
    """The var-files to read: the command line's, and the config's inside the scan roots."""
    from connbudget import confine

    allowed = list(settings.var_files)
    for path in settings.config_var_files:
        problem = confine.check(path, ())
        if problem is None:
            allowed.append(path)
        else:
            errors.append(InputError(settings.config_file or path, 0,
                                     f"var-files: {path} is {problem}"))
    return allowed


def _terraform(inputs: Inputs, settings: Settings) -> TerraformModel | None:
    if not inputs.terraform_dirs and not inputs.plans:
        return None
    from connbudget.frontends.terraform import TerraformModel, load_terraform

    errors: list[InputError] = []
    var_files = inputs.var_files + _var_files(settings, errors)
    model = isolated(lambda dirs: load_terraform(dirs, var_files, cache=settings.cache),
                      inputs.terraform_dirs, errors)
    if model is None:
        model = TerraformModel()
    skipped = {path for path, _ in inputs.skipped}  # reported once, by discovery
    model.errors = [*errors, *(e for e in model.errors if e.file not in skipped)]
    if inputs.plans:
        from connbudget.frontends.terraform.plan import load_plans

        plans = isolated(load_plans, inputs.plans, model.errors)
        if plans is not None:
            model.resources.extend(plans.resources)
            model.errors.extend(plans.errors)
    return model


def check_sql(inputs: Inputs, settings: Settings) -> Report:
    report = _sql_report(inputs, settings)
    report.errors.extend(_missing(inputs))
    return report


def _per_unit(inputs: Inputs, terraform: TerraformModel | None,
              run: Callable[[Inputs, TerraformModel | None], T],
              errors: list[InputError]) -> T | None:
    """`run` over the capacity inputs; one that fails alone is an error of its file."""
    found: list[InputError] = []
    # Terraform is one unit (its model is built already); the other inputs count per file.
    units = [f"pgbouncer\0{p}" for p in inputs.pgbouncer]
    units += [f"kubernetes\0{p}" for p in inputs.kubernetes]
    if terraform is not None:
        units.append("terraform\0" + (inputs.terraform_dirs or ["."])[0])

    def chosen(picked: list[str]) -> T:
        kinds = [unit.split("\0", 1) for unit in picked]
        subset = replace(inputs, pgbouncer=[p for k, p in kinds if k == "pgbouncer"],
                         kubernetes=[p for k, p in kinds if k == "kubernetes"])
        return run(subset, terraform if any(k == "terraform" for k, _ in kinds) else None)

    result = isolated(chosen, units, found)
    errors.extend(replace(error, file=error.file.split("\0", 1)[-1]) for error in found)
    return result


def _capacity_report(inputs: Inputs, settings: Settings,
                     terraform: TerraformModel | None) -> Report:
    from connbudget.capacity import analyze

    errors: list[InputError] = []
    report = _per_unit(inputs, terraform, lambda subset, keep: analyze(subset, settings, keep),
                       errors) or Report()
    report.errors.extend(errors)
    if terraform is not None:
        report.errors.extend(terraform.errors)
        report.comments.update(terraform.comments)
    return report


def _notes(inputs: Inputs, settings: Settings, report: Report, checked: bool) -> None:
    """CB110: what was recognised but not read; a run that found nothing to check."""
    from connbudget.notes import RULE, nothing_to_check, unread

    if RULE in settings.disabled_rules:
        return
    notes, comments = unread(inputs)
    notes += nothing_to_check(inputs.paths, report, checked or bool(notes))
    report.findings.extend(notes)
    report.comments.update(comments)


def check_capacity(inputs: Inputs, settings: Settings) -> Report:
    report = _capacity_report(inputs, settings, _terraform(inputs, settings))
    report.errors.extend(_missing(inputs))
    _notes(inputs, settings, report, False)
    return report


def scan(inputs: Inputs, settings: Settings) -> Report:
    report = Report(errors=_missing(inputs))
    if inputs.sql:
        report.extend(_sql_report(inputs, settings))
    terraform = _terraform(inputs, settings)
    roles = False
    if terraform is not None:
        from connbudget.frontends.terraform.roles import role_documents

        documents = role_documents(terraform)
        roles = bool(documents)
        report.extend(_role_report(documents, settings))
    report.extend(_capacity_report(inputs, settings, terraform))
    report.findings = [_sized(f, report.role_fixes) for f in report.findings]
    _notes(inputs, settings, report, bool(inputs.sql) or roles)
    return report


def _sized(finding: Finding, role_fixes: dict[tuple[str, str], tuple[str, tuple[Edit, ...]]],
           ) -> Finding:
    """CB001 of a role whose clients the scan knows: the limit they need, not a fixed one."""
    found = role_fixes.get((finding.file, finding.resource))
    if finding.rule_id != "CB001" or found is None:
        return finding
    return replace(finding, fix=found[0], edits=found[1])


def capacity_model(inputs: Inputs, settings: Settings) -> tuple[Model, list[Budget],
                                                               list[InputError]]:
    """The model and budgets a report is made from, for what is generated from them."""
    from connbudget.capacity import build_model
    from connbudget.capacity.budget import build_budget

    def built(subset: Inputs, keep: TerraformModel | None) -> tuple[Model, list[Budget]]:
        model = build_model(subset, settings, keep)
        return model, [build_budget(database, model, settings) for database in model.databases]

    terraform = _terraform(inputs, settings)
    crashed: list[InputError] = []
    model, budgets = _per_unit(inputs, terraform, built, crashed) or built(
        replace(inputs, pgbouncer=[], kubernetes=[]), None)  # every input failed
    errors = [*_missing(inputs), *crashed, *model.errors,
              *(terraform.errors if terraform else [])]
    return model, budgets, errors
