"""sql2json on small migration trees gives exactly the documents in each tree's expected.json."""

from __future__ import annotations

import json

import pytest
from conftest import FIXTURES, ROOT, run_cli

FRONTEND = FIXTURES / "sql" / "frontend"
CASES = sorted(p.name for p in FRONTEND.iterdir() if (p / "expected.json").is_file())


@pytest.mark.parametrize("case", CASES)
def test_sql2json_output_matches_golden_json(case: str) -> None:
    result = run_cli("sql2json", str((FRONTEND / case).relative_to(ROOT)))
    expected = json.loads((FRONTEND / case / "expected.json").read_text(encoding="utf-8"))
    assert result.json() == expected


def test_golden_cases_cover_the_front_end() -> None:
    assert {"create_defaults", "alter_unknown", "rename_then_alter", "drop", "grant_revoke",
            "settings", "do_block", "psql_variables", "flyway_placeholders", "dbmate",
            "liquibase", "syntax_error", "connection_limit_zero", "natural_order",
            "numbered_order", "case_folding", "passwords"} <= set(CASES)
