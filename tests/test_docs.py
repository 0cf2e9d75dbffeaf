"""The rule pages match the catalogue, and their examples do what the pages say."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import ROOT, run_cli

from connbudget.catalogue import RULES

RULE_DOCS = ROOT / "docs" / "rules"
SECTIONS = ["Problem", "Why it pages people", "Bad", "Good", "Fix", "Suppress"]
FENCE = re.compile(r"^```(\w+)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
# Where each kind of example block goes when a page's example is written out as a project.
FILE_NAMES = {"sql": "V{n}__example.sql", "hcl": "main{n}.tf", "ini": "pgbouncer{n}.ini",
              "yaml": "k8s{n}.yaml"}


def sections(page: Path) -> dict[str, str]:
    parts = re.split(r"^## (.+)$", page.read_text(), flags=re.MULTILINE)
    return {title.strip(): body for title, body in zip(parts[1::2], parts[2::2], strict=True)}


def write_example(body: str, directory: Path) -> list[Path]:
    directory.mkdir()
    written = []
    for n, (language, code) in enumerate(FENCE.findall(body), start=1):
        if language in FILE_NAMES:
            path = directory / FILE_NAMES[language].format(n=n)
            path.write_text(code)
            written.append(path)
    return written


def findings_of(directory: Path) -> list[dict[str, object]]:
    result = run_cli("scan", str(directory), "--format", "json", "--fail-on", "info")
    assert result.code in (0, 1), result.err
    findings: list[dict[str, object]] = json.loads(result.out)["findings"]
    return findings


def test_there_is_one_page_per_rule_in_the_catalogue() -> None:
    assert sorted(p.stem for p in RULE_DOCS.glob("*.md")) == sorted(RULES)


@pytest.mark.parametrize("rule_id", sorted(RULES))
def test_page_has_the_catalogue_title_and_severity(rule_id: str) -> None:
    text = (RULE_DOCS / f"{rule_id}.md").read_text()
    rule = RULES[rule_id]
    assert text.splitlines()[0] == f"# {rule_id}: {rule.title}"
    assert f"Severity: **{rule.severity}**" in text


@pytest.mark.parametrize("rule_id", sorted(RULES))
def test_page_has_every_section_in_order(rule_id: str) -> None:
    assert list(sections(RULE_DOCS / f"{rule_id}.md")) == SECTIONS


@pytest.mark.parametrize("rule_id", sorted(RULES))
def test_page_shows_how_to_suppress_the_rule(rule_id: str) -> None:
    suppress = sections(RULE_DOCS / f"{rule_id}.md")["Suppress"]
    assert re.search(rf"connbudget:ignore (CB\d+ )*{rule_id} ", suppress)
    assert f'disable = ["{rule_id}"]' in suppress
    checkov_id = RULES[rule_id].checkov_id
    if checkov_id:
        assert f"#checkov:skip={checkov_id}:" in suppress


@pytest.mark.parametrize("rule_id", sorted(RULES))
def test_bad_example_is_flagged_by_the_rule_in_every_file(rule_id: str, tmp_path: Path) -> None:
    written = write_example(sections(RULE_DOCS / f"{rule_id}.md")["Bad"], tmp_path / "bad")
    assert written, "the page has no example"
    flagged = {Path(str(f["file"])).name for f in findings_of(tmp_path / "bad")
               if f["rule_id"] == rule_id}
    if "rego" in RULES[rule_id].engines:  # role rules judge each file on its own
        assert flagged == {p.name for p in written}
    else:
        assert flagged


@pytest.mark.parametrize("rule_id", sorted(RULES))
def test_good_example_is_not_flagged_by_the_rule(rule_id: str, tmp_path: Path) -> None:
    written = write_example(sections(RULE_DOCS / f"{rule_id}.md")["Good"], tmp_path / "good")
    assert written, "the page has no example"
    assert [f for f in findings_of(tmp_path / "good") if f["rule_id"] == rule_id] == []
