"""The real Checkov, run over fixtures/terraform once per test session."""

from __future__ import annotations

import functools
import json
import subprocess
from dataclasses import dataclass

from conftest import CHECKOV, FIXTURES, ROOT

from connbudget.catalogue import RULES

TERRAFORM_FIXTURES = FIXTURES / "terraform"
ROLE_FIXTURES = TERRAFORM_FIXTURES / "roles"
TREES = sorted(p.name for p in ROLE_FIXTURES.iterdir() if (p / "expected.json").is_file())
CHECKS = ROOT / "checks"
RULE_BY_CHECKOV_ID = {r.checkov_id: r.id for r in RULES.values() if r.checkov_id}
ALL_CHECKS = ",".join(RULE_BY_CHECKOV_ID)
_VERDICTS = {"passed_checks": "PASSED", "failed_checks": "FAILED", "skipped_checks": "SKIPPED"}


def checkov(*args: str, checks: str = ALL_CHECKS) -> subprocess.CompletedProcess[str]:
    """Checkov with connbudget's checks only, offline (no guideline download)."""
    return subprocess.run(
        [str(CHECKOV), "--external-checks-dir", str(CHECKS), "--framework", "terraform",
         "--check", checks, "--skip-download", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )


@dataclass(frozen=True)
class Scan:
    # (file relative to fixtures/terraform, resource address) -> {rule id: PASSED/FAILED/SKIPPED};
    # UNKNOWN is absent, as Checkov reports nothing for it.
    verdicts: dict[tuple[str, str], dict[str, str]]
    parsing_errors: list[str]
    output: str

    def tree(self, tree: str) -> dict[str, dict[str, str]]:
        """The verdicts on the resources of one role fixture tree, by resource address."""
        return {resource: verdicts for (file, resource), verdicts in self.verdicts.items()
                if file.startswith(f"roles/{tree}/")}

    def failed(self) -> set[tuple[str, str, str]]:
        """(file relative to the repository, resource, rule id) of every FAILED check."""
        return {(f"{TERRAFORM_FIXTURES.relative_to(ROOT)}/{file}", resource, rule)
                for (file, resource), verdicts in self.verdicts.items()
                for rule, verdict in verdicts.items() if verdict == "FAILED"}


@functools.cache
def terraform_fixtures_scan() -> Scan:
    """The scan the README recommends, password attributes masked in the code Checkov prints."""
    proc = checkov("-d", str(TERRAFORM_FIXTURES), "-o", "json",
                   "--mask", "postgresql_role:password")
    assert proc.returncode in (0, 1), proc.stderr
    results = json.loads(proc.stdout)["results"]
    verdicts: dict[tuple[str, str], dict[str, str]] = {}
    for key, verdict in _VERDICTS.items():
        for record in results[key]:
            file = record["file_path"].lstrip("/")
            rule_id = RULE_BY_CHECKOV_ID[record["check_id"]]
            verdicts.setdefault((file, record["resource"]), {})[rule_id] = verdict
    return Scan(verdicts, results["parsing_errors"], proc.stdout + proc.stderr)


def expected(tree: str) -> dict[str, dict[str, str]]:
    path = ROLE_FIXTURES / tree / "expected.json"
    data: dict[str, dict[str, str]] = json.loads(path.read_text())
    return data
