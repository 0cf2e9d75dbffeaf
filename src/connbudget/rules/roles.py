"""Embedded evaluation of the bundled Rego role policies (rego-cpp through regopy).

The policies are compiled once per process into a bundle whose query collects the `deny` and
`warn` sets of every policy package (error rules are `deny`, warning and info rules `warn`, as
Conftest users expect); each role document is then one evaluation of that bundle.
"""

from __future__ import annotations

import atexit
import functools
import json
import re
from pathlib import Path
from typing import Any

from connbudget.catalogue import RULES
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


@functools.lru_cache(maxsize=1)
def _compiled() -> tuple[Any, Any]:
    import regopy  # type: ignore[import-untyped]

    sources = {str(path): path.read_text(encoding="utf-8") for path in policy_files()}
    interpreter = regopy.Interpreter()
    try:
        for name, text in sources.items():
            interpreter.add_module(name, text)
        bundle = interpreter.build(results_query(sources))
    except regopy.RegoError as error:
        raise RegoError(f"cannot compile the bundled policies: {error}") from error
    if not bundle.ok():
        raise RegoError("cannot compile the bundled policies")
    # Free the engine objects before interpreter shutdown tears down the library they call.
    atexit.register(_compiled.cache_clear)
    return interpreter, bundle


def evaluate_document(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The raw deny and warn results of every bundled policy for one document, in a stable order."""
    interpreter, bundle = _compiled()
    # set_input(dict) does not escape quotes inside strings; a JSON term does.
    interpreter.set_input_term(json.dumps(document))
    output = interpreter.query_bundle(bundle)
    if not output.ok():
        raise RegoError(f"policy evaluation failed: {output}")
    text = str(output)
    if text == "undefined":
        return []
    results: list[dict[str, Any]] = json.loads(text)["bindings"]["results"]
    return sorted(results, key=lambda r: json.dumps(r, sort_keys=True))


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


def evaluate_documents(documents: list[dict[str, Any]]) -> list[Finding]:
    """Findings of every bundled policy on every role document."""
    return [
        _finding(result, document)
        for document in documents
        for result in evaluate_document(document)
    ]
