"""The policy files: METADATA, layout and results agree with the rule catalogue."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import FIXTURES
from rego_engines import rego_test_files, regorus_engine

from connbudget.catalogue import RULES
from connbudget.rego import policy_files
from connbudget.resources import policies_dir

ROOT = policies_dir()
RULE_POLICIES = sorted(p for p in policy_files() if p.name == "policy.rego")
ALL_REGO = sorted(ROOT.rglob("*.rego"))


def metadata(path: Path) -> dict[str, Any]:
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "# METADATA", f"{path}: no METADATA block on the first line"
    block = []
    for line in lines[1:]:
        if not line.startswith("#"):
            break
        block.append(line[2:])
    data: dict[str, Any] = yaml.safe_load("\n".join(block))
    return data


def package(path: Path) -> str:
    match = re.search(r"^package\s+([\w.]+)\s*$", path.read_text(encoding="utf-8"), re.MULTILINE)
    assert match, f"{path}: no package"
    return match.group(1)


def rule_id(path: Path) -> str:
    return str(metadata(path)["custom"]["id"])


def test_every_rego_rule_of_the_catalogue_has_a_policy() -> None:
    wanted = sorted(r.id for r in RULES.values() if "rego" in r.engines)
    assert sorted(rule_id(p) for p in RULE_POLICIES) == wanted


@pytest.mark.parametrize("path", RULE_POLICIES, ids=lambda p: p.parent.name)
def test_metadata_matches_the_catalogue(path: Path) -> None:
    meta = metadata(path)
    rule = RULES[meta["custom"]["id"]]
    assert meta["title"] == rule.title
    assert meta["custom"]["severity"] == rule.severity
    assert [r["ref"] for r in meta["related_resources"]] == [rule.help_uri]
    assert len(meta["description"]) > 80


@pytest.mark.parametrize("path", RULE_POLICIES, ids=lambda p: p.parent.name)
def test_directory_is_named_after_the_rule(path: Path) -> None:
    assert path.parent.name == rule_id(path).lower()


@pytest.mark.parametrize("path", ALL_REGO, ids=lambda p: str(p.relative_to(ROOT)))
def test_package_mirrors_the_directory(path: Path) -> None:
    expected = ".".join(path.parent.relative_to(ROOT).parts)
    if path.name == "policy_test.rego":
        expected += "_test"
    elif path.name != "policy.rego":
        expected += "." + path.stem
    assert package(path) == expected


@pytest.mark.parametrize("path", RULE_POLICIES, ids=lambda p: p.parent.name)
def test_every_policy_has_a_test_beside_it(path: Path) -> None:
    assert (path.parent / "policy_test.rego").is_file()
    assert path.parent / "policy_test.rego" in rego_test_files()


@pytest.mark.parametrize("path", ALL_REGO, ids=lambda p: str(p.relative_to(ROOT)))
def test_lines_are_at_most_120_characters(path: Path) -> None:
    long = [n for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
            if len(line) > 120]
    assert long == []


@pytest.mark.parametrize("path", RULE_POLICIES, ids=lambda p: p.parent.name)
def test_results_carry_the_rule_id_and_severity_of_their_policy(path: Path) -> None:
    engine = regorus_engine(policy_files())
    rule = RULES[rule_id(path)]
    results = []
    for case in sorted((FIXTURES / "policies" / "documents").glob("*.json")):
        for document in json.loads(case.read_text(encoding="utf-8")):
            engine.set_input_json(json.dumps(document))
            answer = json.loads(engine.eval_query_as_json(f"data.{package(path)}.deny"))
            results.extend(answer["result"][0]["expressions"][0]["value"])
    assert results, f"no fixture document makes {rule.id} fire"
    for result in results:
        assert set(result) == {"msg", "rule_id", "severity", "file", "line", "resource", "fix"}
        assert (result["rule_id"], result["severity"]) == (rule.id, rule.severity)
