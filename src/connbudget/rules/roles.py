"""Embedded evaluation of the bundled Rego role policies (regorus).

The policies are loaded once per process; one query collects the `deny` and `warn` sets of
every policy package (error rules are `deny`, warning and info rules `warn`, as Conftest users
expect) for each document of a batch (`with input as` each one), so a file's role documents are
one engine call. regorus is chosen because it works under an address-space limit (`ulimit -v`),
where rego-cpp aborts at import (README, "Embedded Rego").
"""

from __future__ import annotations

import functools
import itertools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from connbudget.catalogue import RULES
from connbudget.errors import InputError
from connbudget.report import Edit, Finding, Related
from connbudget.resources import policies_dir

_PACKAGE = re.compile(r"^package\s+([A-Za-z_][\w.]*)\s*$", re.MULTILINE)
# The rule kinds Conftest reports: `deny` fails a run, `warn` only warns.
_KIND = re.compile(r"^(deny|warn)\s+contains\b", re.MULTILINE)


class RegoError(RuntimeError):
    """The Rego engine could not compile the bundled policies or evaluate a document."""


def policy_files(root: Path | None = None) -> list[Path]:
    """Every policy module under `root` (default: the bundled policies), tests excluded."""
    base = root if root is not None else policies_dir()
    return sorted(p for p in base.rglob("*.rego") if not p.name.endswith("_test.rego"))


def results_query(sources: dict[str, str]) -> str:
    """A query binding `results` to the union of the `deny` and `warn` sets of every package."""
    refs = sorted(
        f"data.{package.group(1)}.{kind}"
        for text in sources.values()
        for package in _PACKAGE.finditer(text)
        for kind in sorted(set(_KIND.findall(text)))
    )
    if not refs:
        raise RegoError("no policy with a deny or warn rule found")
    return "results := " + " | ".join(refs)


def batch_query(sources: dict[str, str]) -> str:
    """A query whose one value lists, per document of `input.documents`, its results."""
    union = results_query(sources).removeprefix("results := ")
    return f"[r | some doc in input.documents; r := ({union}) with input as doc]"


def _first_line(error: BaseException) -> str:
    # regorus appends a Rust backtrace to its messages when RUST_BACKTRACE is set
    lines = [line for line in str(error).splitlines() if line.strip()]
    return " ".join(lines[:4]) if lines else type(error).__name__


@functools.lru_cache(maxsize=1)
def _engine() -> tuple[Any, str]:
    import regorus  # type: ignore[import-untyped]

    sources = {str(path): path.read_text(encoding="utf-8") for path in policy_files()}
    engine = regorus.Engine()
    try:
        for name, text in sources.items():
            engine.add_policy(name, text)
    except RuntimeError as error:
        raise RegoError(f"cannot compile the bundled policies: {_first_line(error)}") from None
    return engine, batch_query(sources)


def _sorted(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(results, key=lambda r: json.dumps(r, sort_keys=True))


def evaluate_batch(documents: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The raw deny and warn results of every bundled policy for each document, in a stable
    order: one engine call for all of them."""
    if not documents:
        return []
    engine, query = _engine()
    try:
        engine.set_input_json(json.dumps({"documents": documents}))
        answer = json.loads(engine.eval_query_as_json(query))
    except (RuntimeError, ValueError) as error:
        raise RegoError(f"policy evaluation failed: {_first_line(error)}") from None
    [found] = [e["value"] for r in answer.get("result", []) for e in r["expressions"]]
    if not isinstance(found, list) or len(found) != len(documents):
        raise RegoError("policy evaluation gave no result for some documents")
    return [_sorted(results) for results in found]


def evaluate_document(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The raw deny and warn results of every bundled policy for one document."""
    return evaluate_batch([document])[0]


def _finding(result: dict[str, Any], document: dict[str, Any]) -> Finding:
    rule_id = result["rule_id"]
    if rule_id not in RULES or RULES[rule_id].severity != result["severity"]:
        raise RegoError(f"policy result does not match the rule catalogue: {rule_id}")
    source = document.get("source") or {}
    return Finding(
        rule_id=rule_id,
        message=result["msg"],
        file=result["file"],
        line=result["line"],
        resource=result.get("resource") or "",
        fix=_in_module(result.get("fix") or "", result, document),
        column=source.get("column"),
        end_line=source.get("end_line"),
        edits=_edits(result),
        related=_related(document, result),
    )


def _in_module(fix: str, result: dict[str, Any], document: dict[str, Any]) -> str:
    """A role inside a module is changed in the module's call: name the call and its input."""
    module = document.get("module")
    attribute = result.get("attribute")
    if not isinstance(module, dict) or not attribute:
        return fix
    variable = module.get("variables", {}).get(attribute)
    call = module["address"].rsplit(".", 1)[-1]
    if variable is None:
        return (f"{fix}; {result['resource']} is inside {module['address']}, which sets "
                f"{attribute} itself: change it in the module's source")
    where = _call_site(module, variable)
    return (f"{fix}; {result['resource']} is inside {module['address']}, which sets {attribute}"
            f" from var.{variable}: set {variable} in the module \"{call}\" call{where}")


def _call_line(module: dict[str, Any], variable: str | None) -> tuple[str, int] | None:
    """The module call's file and the line of its input `variable` (else of the call)."""
    file, line = module.get("file"), module.get("line")
    if not isinstance(file, str) or not isinstance(line, int):
        return None
    inputs = module.get("input_lines")
    found = inputs.get(variable) if isinstance(inputs, dict) and variable else None
    return file, found if isinstance(found, int) else line


def _call_site(module: dict[str, Any], variable: str | None) -> str:
    where = _call_line(module, variable)
    return f" ({where[0]}:{where[1]})" if where else ""


def _related(document: dict[str, Any], result: dict[str, Any]) -> tuple[Related, ...]:
    """The module call that feeds a role inside a module: the line a pull request changes."""
    module = document.get("module")
    attribute = result.get("attribute")
    if not isinstance(module, dict) or not attribute:
        return ()
    where = _call_line(module, module.get("variables", {}).get(attribute))
    if where is None:
        return ()
    return (Related(*where, f"{module['address']} call: sets {attribute} of "
                            f"{result['resource']}"),)


def _edits(result: dict[str, Any]) -> tuple[Edit, ...]:
    """A SQL finding's statement that clears it, appended to the migration; a Terraform
    attribute to add as the first line of the resource's block."""
    if result.get("append"):
        return (Edit(result["file"], 0, "", result["append"]),)
    if result.get("insert"):
        from connbudget.capacity.fixes import Pending

        return (Pending(result["file"], result["line"], "", result["insert"]),)
    return ()


def _file(document: dict[str, Any]) -> object:
    source = document.get("source")
    return source.get("file") if isinstance(source, dict) else None


@dataclass
class Checked:
    findings: list[Finding] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)


def _unchecked(document: dict[str, Any]) -> InputError:
    source = document.get("source")
    source = source if isinstance(source, dict) else {}
    file, line = source.get("file"), source.get("line")
    return InputError(file if isinstance(file, str) else ".", line if isinstance(line, int) else 0,
                      "the role rules could not be evaluated on this statement; it is not checked")


def _one_by_one(batch: list[dict[str, Any]], checked: Checked) -> list[list[dict[str, Any]]]:
    """Each document alone: one the engine fails on is an input error of its own."""
    answers = []
    for document in batch:
        try:
            answers.append(evaluate_document(document))
        except RegoError:
            checked.errors.append(_unchecked(document))
            answers.append([])
    return answers


def evaluate_documents(documents: list[dict[str, Any]]) -> Checked:
    """Findings of every bundled policy on every role document, one engine call per file."""
    checked = Checked()
    for _, group in itertools.groupby(documents, key=_file):
        batch = list(group)
        try:
            answers = evaluate_batch(batch)
        except RegoError:
            answers = _one_by_one(batch, checked)
        for document, results in zip(batch, answers, strict=True):
            checked.findings.extend(_finding(result, document) for result in results)
    return checked
