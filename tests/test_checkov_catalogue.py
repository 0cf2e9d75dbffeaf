"""The Checkov checks' metadata agrees with the rule catalogue; read with `ast`, as checkov
lives in its own environment."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest
from checkov_run import CHECKS

from connbudget.catalogue import RULES

CHECK_FILES = sorted(p for p in CHECKS.glob("*.py") if not p.name.startswith("_"))
HELPERS = sorted(p for p in CHECKS.glob("_*.py") if not p.name.startswith("__"))
SIBLINGS = {p.stem for p in HELPERS}
# Checkov's SARIF maps HIGH to "error", MEDIUM to "warning", LOW to "note" and INFO to "none".
SEVERITY = {"error": "HIGH", "warning": "MEDIUM", "info": "LOW"}


def _metadata(path: Path) -> dict[str, str]:
    """The literal keyword arguments of the check's `super().__init__`, its severity and the
    class instantiated as `check`."""
    tree = ast.parse(path.read_text())
    found: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr == "__init__":
            found.update({k.arg: str(k.value.value) for k in node.keywords
                          if k.arg and isinstance(k.value, ast.Constant)})
        elif isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == "self.severity":
            found["severity"] = ast.unparse(node.value)
        elif isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == "check" \
                and isinstance(node.value, ast.Call):
            found["instance_of"] = ast.unparse(node.value.func)
    found["classes"] = ",".join(n.name for n in tree.body if isinstance(n, ast.ClassDef))
    return found


def _check_of(rule_id: str) -> dict[str, str]:
    matches = [m for m in map(_metadata, CHECK_FILES) if m.get("id") == RULES[rule_id].checkov_id]
    assert len(matches) == 1, f"{rule_id}: {len(matches)} check files"
    return matches[0]


CHECKOV_RULES = [r.id for r in RULES.values() if r.checkov_id]


def test_the_checks_directory_is_a_package_checkov_will_load() -> None:
    assert (CHECKS / "__init__.py").is_file()


def test_every_check_file_implements_a_catalogue_rule() -> None:
    ids = sorted(_metadata(p).get("id", p.name) for p in CHECK_FILES)
    assert ids == sorted(RULES[r].checkov_id for r in CHECKOV_RULES)


@pytest.mark.parametrize("rule_id", CHECKOV_RULES)
def test_check_guideline_is_the_rule_page(rule_id: str) -> None:
    assert _check_of(rule_id)["guideline"] == RULES[rule_id].help_uri


@pytest.mark.parametrize("rule_id", CHECKOV_RULES)
def test_check_severity_follows_the_catalogue(rule_id: str) -> None:
    expected = f"Severities[BcSeverities.{SEVERITY[RULES[rule_id].severity]}]"
    assert _check_of(rule_id)["severity"] == expected


@pytest.mark.parametrize("rule_id", CHECKOV_RULES)
def test_check_is_one_class_named_for_what_it_ensures(rule_id: str) -> None:
    check = _check_of(rule_id)
    assert check["name"].startswith("Ensure ")
    assert check["instance_of"] == check["classes"]


@pytest.mark.parametrize("path", CHECK_FILES + HELPERS, ids=lambda p: p.name)
def test_checks_import_only_checkov_and_the_standard_library(path: Path) -> None:
    imported: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").split(".")[0])
    allowed = {"checkov", "__future__"} | SIBLINGS | set(sys.stdlib_module_names)
    assert imported <= allowed


def test_the_password_check_knows_hashes_as_connbudget_does() -> None:
    from connbudget import passwords

    tree = ast.parse((CHECKS / "PostgresqlRolePasswordIsNotPlaintext.py").read_text())
    pattern = next(node.value.args[0].value for node in tree.body
                   if isinstance(node, ast.Assign) and node.targets[0].id == "HASH")
    assert pattern == f"{passwords._SCRAM.pattern}|{passwords._MD5.pattern}"
