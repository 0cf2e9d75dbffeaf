"""The second Rego engine (regorus) and a `conftest verify`-style runner built on it."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import regorus

from connbudget.rego import deny_query, policy_files
from connbudget.resources import policies_dir

_TEST_RULE = re.compile(r"^(test_\w+)\s+if\b", re.MULTILINE)
_PACKAGE = re.compile(r"^package\s+([\w.]+)", re.MULTILINE)


def regorus_engine(files: list[Path]) -> regorus.Engine:
    engine = regorus.Engine()
    for path in files:
        engine.add_policy(str(path), path.read_text(encoding="utf-8"))
    return engine


class RegorusPolicies:
    """The bundled policies in regorus, queried exactly as connbudget.rego queries rego-cpp."""

    def __init__(self) -> None:
        files = policy_files()
        self.engine = regorus_engine(files)
        self.query = deny_query({str(p): p.read_text(encoding="utf-8") for p in files})

    def deny(self, document: dict[str, Any]) -> list[dict[str, Any]]:
        self.engine.set_input_json(json.dumps(document))
        answer = json.loads(self.engine.eval_query_as_json(self.query))
        results: list[dict[str, Any]] = answer["result"][0]["bindings"]["deny"]
        return sorted(results, key=lambda r: json.dumps(r, sort_keys=True))


def rego_test_files(root: Path | None = None) -> list[Path]:
    return sorted((root or policies_dir()).rglob("*_test.rego"))


def run_rego_tests(policies: list[Path], tests: list[Path]) -> dict[str, bool]:
    """Every `test_*` rule of the test files, as `conftest verify` runs them: name -> passed."""
    engine = regorus_engine([*policies, *tests])
    outcome = {}
    for test_file in tests:
        text = test_file.read_text(encoding="utf-8")
        package = _PACKAGE.search(text)
        assert package is not None, f"{test_file}: no package"
        for name in sorted(set(_TEST_RULE.findall(text))):
            query = f"data.{package.group(1)}.{name}"
            answer = json.loads(engine.eval_query_as_json(query))
            values = [e["value"] for r in answer.get("result", []) for e in r["expressions"]]
            outcome[query] = values == [True]
    return outcome
