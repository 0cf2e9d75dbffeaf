"""The policy files: METADATA, layout and results agree with the rule catalogue."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import FIXTURES
from rego_engines import OPA_UNAVAILABLE, Opa, Regorus, rego_test_files

from connbudget.catalogue import RULES
from connbudget.resources import policies_dir
from connbudget.rules.roles import policy_files

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


def kind(rule_severity: str) -> str:
    """Conftest fails a run on `deny` and only warns on `warn`: only error rules may fail it."""
    return "deny" if rule_severity == "error" else "warn"


@pytest.mark.parametrize("path", RULE_POLICIES, ids=lambda p: p.parent.name)
def test_rule_kind_follows_the_severity(path: Path) -> None:
    heads = re.findall(r"^(deny|warn|violation)\b", path.read_text(encoding="utf-8"), re.MULTILINE)
    assert set(heads) == {kind(RULES[rule_id(path)].severity)}


@pytest.mark.parametrize("path", RULE_POLICIES, ids=lambda p: p.parent.name)
def test_results_carry_the_rule_id_severity_and_location_of_their_policy(path: Path) -> None:
    engine = Regorus()
    rule = RULES[rule_id(path)]
    results = []
    for case in sorted((FIXTURES / "policies" / "documents").glob("*.json")):
        for document in json.loads(case.read_text(encoding="utf-8")):
            [found] = engine.value(f"data.{package(path)}.{kind(rule.severity)}", document)
            assert isinstance(found, list)
            for result in found:
                results.append((result, document))
    assert results, f"no fixture document makes {rule.id} fire"
    for result, document in results:
        source = document["source"]
        assert set(result) - {"append", "insert", "attribute"} == {
            "msg", "rule_id", "severity", "file", "line", "_loc", "resource", "fix"}
        # a SQL statement's finding carries the statement that clears it when appended
        sql = source.get("format") == "sql" and not document.get("dynamic")
        assert ("append" in result) == sql
        assert (result["rule_id"], result["severity"]) == (rule.id, rule.severity)
        assert result["_loc"] == {"file": source["file"], "line": source["line"]}


@pytest.mark.skipif(OPA_UNAVAILABLE is not None, reason=f"real OPA not run: {OPA_UNAVAILABLE}")
@pytest.mark.parametrize("path", RULE_POLICIES, ids=lambda p: p.parent.name)
def test_opa_parses_the_metadata_as_the_catalogue_says(path: Path) -> None:
    # A rule in the policy's package sees the package METADATA as OPA (and Conftest) parsed it.
    probe = path.parent / "metadata_probe.rego"
    engine = Opa(policy_files())
    source = f"package {package(path)}\n\nchain := rego.metadata.chain()\n"
    engine.engine.add_policy(str(probe), source)
    [chain] = engine.value(f"data.{package(path)}.chain")
    assert isinstance(chain, list)
    [annotations] = [link["annotations"] for link in chain if "annotations" in link]
    rule = RULES[rule_id(path)]
    assert annotations["scope"] == "package"
    assert annotations["title"] == rule.title
    assert annotations["custom"] == {"id": rule.id, "severity": rule.severity}
    assert [r["ref"] for r in annotations["related_resources"]] == [rule.help_uri]
    assert annotations["description"] == " ".join(metadata(path)["description"].split())


@pytest.mark.skipif(OPA_UNAVAILABLE is not None, reason=f"real OPA not run: {OPA_UNAVAILABLE}")
def test_broken_metadata_fails_the_load_as_in_conftest() -> None:
    from opa_bindings import OpaError

    broken = FIXTURES / "policies" / "broken_metadata" / "policy.rego"
    engine = Opa([*policy_files(), broken])
    with pytest.raises(OpaError, match=r"broken_metadata/policy.rego:\d+: rego_parse_error: yaml:"):
        engine.value("data.connbudget.cb001.deny", {})
