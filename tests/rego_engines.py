"""The Rego engines of the tests: regorus (the run-time engine, used directly), rego-cpp (regopy),
and the real OPA (Go) through its c-shared library.

Each engine answers the query connbudget.rules.roles asks regorus; regorus and OPA also run the
`*_test.rego` files as `opa test` / `conftest verify` do: every `test_` rule must be defined and
true (rego-cpp crashes on their `with input as`).
"""

from __future__ import annotations

import json
import platform
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Protocol

import regorus

from connbudget.resources import policies_dir
from connbudget.rules.roles import policy_files, results_query

_TEST_RULE = re.compile(r"^(test_\w+)\s+if\b", re.MULTILINE)
_PACKAGE = re.compile(r"^package\s+([\w.]+)", re.MULTILINE)

# OPA parses METADATA blocks only when some module calls a rego.metadata built-in; Conftest's
# loader always does (loader.WithProcessAnnotation(true)) and fails the load on broken YAML.
# This module makes OPA parse every METADATA block the way Conftest does.
ANNOTATION_PROBE = "package connbudget_tests.annotations\n\nchain := rego.metadata.chain()\n"


def _opa_platform() -> str | None:
    """Why the OPA wheel cannot exist here, or None when it can (x86_64 Linux, glibc >= 2.34)."""
    if sys.platform != "linux" or platform.machine() != "x86_64":
        return f"no opa-golib-python-bindings wheel for {sys.platform} {platform.machine()}"
    libc, version = platform.libc_ver()
    numbers = tuple(int(n) for n in version.split(".")[:2] if n.isdigit())
    if libc != "glibc" or numbers < (2, 34):
        return f"no opa-golib-python-bindings wheel for {libc or 'this libc'} {version} (< 2.34)"
    return None


# Where the wheel can exist, `make test` installs it: a missing package is an error, not a skip.
OPA_UNAVAILABLE = _opa_platform()


def _sorted(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(results, key=lambda r: json.dumps(r, sort_keys=True))


class Engine(Protocol):
    def value(self, query: str, document: object = None) -> list[object]:
        """The values of the query's expression, one per result: [] when undefined."""

    def results(self, document: dict[str, Any]) -> list[dict[str, Any]]:
        """The bundled policies' deny and warn results for one document, in a stable order."""


def _sources(files: list[Path]) -> dict[str, str]:
    return {str(p): p.read_text(encoding="utf-8") for p in files}


class Regorus:
    """Microsoft's regorus (unofficial PyPI build)."""

    name = "regorus"

    def __init__(self, files: list[Path] | None = None) -> None:
        self.files = policy_files() if files is None else files
        self.engine = regorus.Engine()
        for path, text in _sources(self.files).items():
            self.engine.add_policy(path, text)

    def value(self, query: str, document: object = None) -> list[object]:
        if document is not None:
            self.engine.set_input_json(json.dumps(document))
        answer = json.loads(self.engine.eval_query_as_json(query))
        return [e["value"] for r in answer.get("result", []) for e in r["expressions"]]

    def results(self, document: dict[str, Any]) -> list[dict[str, Any]]:
        self.engine.set_input_json(json.dumps(document))
        answer = json.loads(self.engine.eval_query_as_json(results_query(_sources(self.files))))
        found: list[dict[str, Any]] = answer["result"][0]["bindings"]["results"]
        return _sorted(found)


# rego-cpp in a process of its own: loaded beside google-re2 (connbudget's regex engine) it
# frees memory RE2 allocated ("free(): invalid pointer") and the whole test run aborts.
_REGOPY = """
import json, sys
import regopy
request = json.load(sys.stdin)
interpreter = regopy.Interpreter()
for name, text in request["modules"].items():
    interpreter.add_module(name, text)
bundle = interpreter.build(request["query"]) if request["bundle"] else None
assert bundle is None or bundle.ok(), "rego-cpp cannot compile the policies"
answers = []
for document in request["documents"]:
    # set_input(dict) does not escape quotes inside strings; a JSON term does.
    interpreter.set_input_term(json.dumps(document))
    output = interpreter.query_bundle(bundle) if bundle else interpreter.query(request["query"])
    assert output.ok(), str(output)
    answers.append(str(output))
json.dump(answers, sys.stdout)
"""


def regopy_answers(files: list[Path], query: str, documents: list[object],
                   bundle: bool = True) -> list[object]:
    """rego-cpp's answer to `query` for each document (None when undefined), in a child
    process; `bundle`: built once, as a run-time engine would use it."""
    request = {"modules": _sources(files), "query": query, "documents": documents,
               "bundle": bundle}
    proc = subprocess.run([sys.executable, "-c", _REGOPY], input=json.dumps(request),
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return [None if text == "undefined" else json.loads(text)
            for text in json.loads(proc.stdout)]


class Regopy:
    """Microsoft's rego-cpp (the official regopy binding). It aborts at import under an
    address-space limit, so it is an engine of the tests only."""

    name = "regopy"

    def __init__(self, files: list[Path] | None = None) -> None:
        self.files = policy_files() if files is None else files

    def results(self, document: dict[str, Any]) -> list[dict[str, Any]]:
        return self.results_of_each([document])[0]

    def results_of_each(self, documents: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
        query = results_query(_sources(self.files))
        answers = regopy_answers(self.files, query, list(documents))
        return [_sorted(answer["bindings"]["results"] if isinstance(answer, dict) else [])
                for answer in answers]


class Opa:
    """The real OPA v1 (open-policy-agent/opa/v1/rego, as Conftest embeds it)."""

    name = "opa"

    def __init__(self, files: list[Path] | None = None) -> None:
        from opa_bindings import OpaEngine

        self.files = policy_files() if files is None else files
        self.engine = OpaEngine()
        for path, text in _sources(self.files).items():
            self.engine.add_policy(path, text)
        self.engine.add_policy("connbudget_tests/annotations.rego", ANNOTATION_PROBE)

    def value(self, query: str, document: object = None) -> list[object]:
        rows = self.engine.eval_query(f"__value := {query}", document)
        return [row["__value"] for row in rows]

    def results(self, document: dict[str, Any]) -> list[dict[str, Any]]:
        return self.results_of_each([document])[0]

    def results_of_each(self, documents: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
        """`results` of every document in one evaluation (`with input as` each of them)."""
        union = results_query(_sources(self.files)).removeprefix("results := ")
        query = f"[r | some doc in input.documents; r := ({union}) with input as doc]"
        [found] = self.value(query, {"documents": documents})
        assert isinstance(found, list)
        return [_sorted(r) for r in found]


def rego_test_files(root: Path | None = None) -> list[Path]:
    return sorted((root or policies_dir()).rglob("*_test.rego"))


def rego_test_rules(test_file: Path) -> list[str]:
    """`data.<package>.<test_ rule>` of every test in a `*_test.rego` file."""
    names = sorted(set(_TEST_RULE.findall(test_file.read_text(encoding="utf-8"))))
    return [f"{rego_test_package(test_file)}.{name}" for name in names]


def rego_test_package(test_file: Path) -> str:
    match = _PACKAGE.search(test_file.read_text(encoding="utf-8"))
    assert match is not None, f"{test_file}: no package"
    return f"data.{match.group(1)}"


def run_rego_tests(engine: Engine, tests: list[Path]) -> dict[str, bool]:
    """Every `test_*` rule of the test files, as `conftest verify` runs them: name -> passed.

    The engine must have the policies and the test files loaded. A test passes when it is defined
    and true; undefined, false or an evaluation error fails it, as in `opa test`. All tests are
    one query (OPA compiles each distinct query); one that errors is then run on its own.
    """
    rules = [rule for test_file in tests for rule in rego_test_rules(test_file)]
    try:
        [values] = engine.value("{" + ", ".join(f'"{r}": [v | v := {r}]' for r in rules) + "}")
        assert isinstance(values, dict)
        return {rule: values[rule] == [True] for rule in rules}
    except Exception:  # noqa: BLE001 - an evaluation error fails only the test that raised it
        pass
    outcome = {}
    for rule in rules:
        try:
            outcome[rule] = engine.value(rule) == [True]
        except Exception:  # noqa: BLE001 - `opa test` reports an evaluation error as a failure
            outcome[rule] = False
    return outcome
