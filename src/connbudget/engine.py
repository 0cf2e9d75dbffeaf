"""What each command runs: the reader of every input kind found (`connbudget.kinds`), the
adapters that build the model from what they read, the rules over the model, one report.

A failure is isolated to the input that causes it: a reader that fails is run again on each of
its units (a file, a Terraform directory) alone, and so is the analysis of the model; each unit
that fails alone is a located input error, and the rest is still checked.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TypeVar

from connbudget.discover import Inputs
from connbudget.errors import InputError
from connbudget.kinds import BY_NAME, InputKind, Read, ReadContext, kinds_of
from connbudget.report import Edit, Finding, Report
from connbudget.settings import Settings

if TYPE_CHECKING:
    from connbudget.capacity.budget import Budget
    from connbudget.frontends.sql import SqlResult
    from connbudget.frontends.terraform import TerraformModel
    from connbudget.model import Model

T = TypeVar("T")


def _missing(inputs: Inputs) -> list[InputError]:
    errors = [InputError(path, 0, "no such file or directory") for path in inputs.missing]
    errors += [InputError(path, 0, problem) for path, problem in inputs.skipped]
    return errors


def _crash(path: str, exc: BaseException) -> InputError:
    # The exception's message may quote the input: only its kind is shown.
    return InputError(path, 0, f"could not be read ({type(exc).__name__}); skipped, the other "
                      "files were checked")


def isolated(run: Callable[[list[str]], T], units: list[str],
              errors: list[InputError]) -> T | None:
    """`run(units)`; when it fails unexpectedly, again without the units that fail alone.

    Each unit that cannot be read alone becomes a located input error in `errors`.
    """
    try:
        return run(units)
    except (RecursionError, MemoryError, Exception):  # noqa: B014 - the reason is the kind
        pass
    good = []
    for unit in units:
        try:
            run([unit])
        except Exception as exc:
            errors.append(_crash(unit, exc))
        else:
            good.append(unit)
    try:
        return run(good)
    except Exception as exc:
        errors.extend(_crash(unit, exc) for unit in good)
        return None


def _var_files(inputs: Inputs, settings: Settings, errors: list[InputError]) -> list[str]:
    """The var-files to read: those named on the command line as paths or with --var-file,
    and the config's inside the scan roots."""
    from connbudget import confine

    allowed = [*inputs.of("tfvars"), *settings.var_files]
    for path in settings.config_var_files:
        problem = confine.check(path, ())
        if problem is None:
            allowed.append(path)
        else:
            errors.append(InputError(settings.config_file or path, 0,
                                     f"var-files: {path} is {problem}"))
    return allowed


def _secret(var_files: list[str]) -> list[str]:
    """The var-files from outside the scanned tree: a CI job's, never the pull request's."""
    from connbudget import confine

    return [path for path in var_files if confine.outside(path, ()) is not None]


class Reads:
    """What each input kind's front end read, once per run (a subset of its units again only
    when the analysis must isolate a failure)."""

    def __init__(self, inputs: Inputs, settings: Settings) -> None:
        self.inputs = inputs
        self.errors: list[InputError] = []  # the context's own (a config var-file refused)
        var_files = _var_files(inputs, settings, self.errors)
        self.context = ReadContext(
            tuple(var_files), settings.cache,
            {path: pin.version for path, pin in settings.poolers.items() if pin.version},
            tuple(_secret(var_files)))
        self._done: dict[str, Read | None] = {}

    def paths(self, kind: InputKind, units: list[str] | None = None) -> list[str]:
        found = self.inputs.of(kind.name)
        return found if units is None else [p for p in found if kind.unit(p) in units]

    def read(self, kind: InputKind, units: list[str] | None = None) -> Read | None:
        """The kind's front end on its files (or those of `units`); None when there are none."""
        if units is None and kind.name in self._done:
            return self._done[kind.name]
        paths = self.paths(kind, units)
        if not paths:
            return None
        crashed: list[InputError] = []
        reader = kind.reader()
        found = isolated(lambda chosen: reader(self.paths(kind, chosen), self.context),
                          self.inputs.units(kind) if units is None else units, crashed)
        result = found or Read(None)
        result = Read(result.result, [*crashed, *result.errors], result.comments)
        if units is None:
            self._done[kind.name] = result
        return result

    def terraform(self, units: dict[str, list[str]] | None = None) -> TerraformModel | None:
        """The Terraform of the run: its modules' files and its plans, one model."""
        from connbudget.frontends.terraform.model import combine

        found = [self.read(BY_NAME[name], units.get(name) if units is not None else None)
                 for name in ("terraform", "plan", "terragrunt")
                 if units is None or units.get(name)]
        models = [read.result for read in found if read is not None and read.result is not None]
        return combine(models) if models else None

    def parsed(self, units: dict[str, list[str]] | None = None) -> dict[str, Any]:
        """What the adapters read: each capacity and coverage kind's result, Terraform and
        plans as one."""
        parsed: dict[str, Any] = {}
        for kind in _modelled():
            if kind.name in ("terraform", "plan", "terragrunt"):
                continue
            if units is not None and not units.get(kind.name):
                continue
            read = self.read(kind, units.get(kind.name) if units is not None else None)
            if read is not None and read.result is not None:
                parsed[kind.name] = read.result
        terraform = self.terraform(units)
        if terraform is not None:
            parsed["terraform"] = terraform
        return parsed

    def report(self, kinds: tuple[InputKind, ...]) -> Report:
        """The errors and comments of what `kinds` read."""
        report = Report(errors=list(self.errors))
        skipped = {path for path, _ in self.inputs.skipped}  # reported once, by discovery
        for kind in kinds:
            read = self.read(kind)
            if read is None:
                continue
            # a file two kinds read (a Terragrunt unit's module) reports its errors once
            report.errors.extend(e for e in read.errors
                                 if e.file not in skipped and e not in report.errors)
            report.comments.update(read.comments)
        return report


_SOURCE_BYTES = 8 * 1024 * 1024


def _modelled() -> tuple[InputKind, ...]:
    """The kinds the capacity model is built from: those read, and those recognised but not
    read (each a coverage item)."""
    return (*kinds_of("capacity"), *kinds_of("coverage"))


def source_lines(path: str) -> list[str] | None:
    """The lines of a file the front ends read, for the edits of fixes: from what the run kept
    of its one read (`confine`); None for a file that cannot be edited (a plan is generated
    from the .tf files, which are what to change; `terraform init` installs modules under
    .terraform, whose calls are)."""
    from connbudget import confine

    if ".terraform" in os.path.normpath(path).split(os.sep):
        return None
    try:
        text = confine.read_regular(path, _SOURCE_BYTES).decode("utf-8", "replace")
    except OSError:
        return None
    return None if '"planned_values"' in text else text.splitlines()


def _role_report(documents: list[dict[str, Any]], settings: Settings) -> Report:
    from connbudget.catalogue import RULES

    if all(r.id in settings.disabled_rules for r in RULES.values() if "rego" in r.engines):
        return Report()
    from connbudget.capacity.edits import resolve
    from connbudget.rules.roles import evaluate_documents

    checked = evaluate_documents(documents)
    findings = resolve(checked.findings, source_lines)
    return Report(findings=[f for f in findings if f.rule_id not in settings.disabled_rules],
                  errors=checked.errors)


def _sql_report(reads: Reads, settings: Settings) -> Report:
    from connbudget.rules.sql import run_time_findings

    read = reads.read(BY_NAME["sql"])
    report = reads.report((BY_NAME["sql"],))
    if read is None or read.result is None:
        return report
    report.extend(_role_report(read.result.documents, settings))
    report.findings.extend(run_time_findings(read.result.run_time, settings.disabled_rules))
    return report


def read_roles(inputs: Inputs) -> tuple[SqlResult, list[InputError]]:
    """`sql2json`: the role documents of the SQL files found, and every error of the run."""
    from connbudget.frontends.sql.reader import SqlResult, read_sql

    crashed: list[InputError] = []
    result = isolated(read_sql, inputs.of("sql"), crashed) or SqlResult()
    return result, [*result.errors, *crashed, *_missing(inputs)]


def check_sql(inputs: Inputs, settings: Settings) -> Report:
    report = _sql_report(Reads(inputs, settings), settings)
    report.errors.extend(_missing(inputs))
    return report


def _per_unit(inputs: Inputs, reads: Reads, run: Callable[[dict[str, Any]], T],
              errors: list[InputError]) -> T | None:
    """`run` over what the capacity kinds read; a unit (a file, or a Terraform module's
    directory) on which it fails alone is an input error of its own, the others are kept."""
    kinds = [kind for kind in _modelled() if inputs.of(kind.name)]
    units = [f"{kind.name}\0{unit}" for kind in kinds for unit in inputs.units(kind)]

    def chosen(picked: list[str]) -> T:
        if len(picked) == len(units):
            return run(reads.parsed())
        subset: dict[str, list[str]] = {}
        for unit in picked:
            name, _, path = unit.partition("\0")
            subset.setdefault(name, []).append(path)
        return run(reads.parsed(subset))

    found: list[InputError] = []
    result = isolated(chosen, units, found)
    errors.extend(replace(error, file=error.file.split("\0", 1)[-1]) for error in found)
    return result


def _capacity_report(inputs: Inputs, reads: Reads, settings: Settings) -> Report:
    from connbudget.capacity.analyze import analyze

    errors: list[InputError] = []
    report = _per_unit(inputs, reads, lambda parsed: analyze(parsed, settings, source_lines),
                       errors) or Report()
    report.errors.extend(errors)
    report.extend(reads.report(tuple(kind for kind in _modelled() if inputs.of(kind.name))))
    return report


def _notes(inputs: Inputs, settings: Settings, report: Report, checked: bool) -> None:
    """CB110: a run that recognised nothing connbudget can check."""
    from connbudget.rules.notes import RULE, nothing_to_check

    if RULE in settings.disabled_rules:
        return
    recognised = checked or report.coverage is not None and bool(report.coverage.unread)
    report.findings.extend(nothing_to_check(inputs.paths, report, recognised))


def check_capacity(inputs: Inputs, settings: Settings) -> Report:
    reads = Reads(inputs, settings)
    report = _capacity_report(inputs, reads, settings)
    report.errors.extend(_missing(inputs))
    _notes(inputs, settings, report, False)
    return report


def scan(inputs: Inputs, settings: Settings) -> Report:
    reads = Reads(inputs, settings)
    report = Report(errors=_missing(inputs))
    if inputs.of("sql"):
        report.extend(_sql_report(reads, settings))
    terraform = reads.terraform()
    roles = False
    if terraform is not None:
        from connbudget.frontends.terraform.roles import role_documents

        documents = role_documents(terraform)
        roles = bool(documents)
        report.extend(_role_report(documents, settings))
    report.extend(_capacity_report(inputs, reads, settings))
    report.findings = [_sized(f, report.role_fixes) for f in report.findings]
    _notes(inputs, settings, report, bool(inputs.of("sql")) or roles)
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
    from connbudget.capacity.analyze import capacity_model as model_of

    reads = Reads(inputs, settings)
    crashed: list[InputError] = []
    built = _per_unit(inputs, reads, lambda parsed: model_of(parsed, settings), crashed)
    model, budgets, errors = built or model_of({}, settings)  # every input failed
    kinds = tuple(kind for kind in _modelled() if inputs.of(kind.name))
    return model, budgets, [*_missing(inputs), *reads.report(kinds).errors, *crashed, *errors]
