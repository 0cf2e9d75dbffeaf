"""The config file: where it is found, what it sets, what it refuses, and flags winning."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import FIXTURES, run_cli

from connbudget.config import load_settings
from connbudget.errors import UsageError
from connbudget.settings import DatabaseOverride, Settings

CONFIG = FIXTURES / "config"


def settings_for(*paths: Path, **flags: Any) -> Settings:
    return load_settings([str(p) for p in paths], **flags)


def test_pyproject_section_sets_every_key() -> None:
    settings = settings_for(CONFIG / "full")
    assert settings.threshold == 0.7
    assert settings.fail_on == "warning"
    assert settings.disabled_rules == {"CB005", "CB103"}
    assert settings.exclude == ["legacy/", "/build", "**/*.generated.sql"]
    assert settings.instance_class_safety_factor == 0.9
    # the config's var-files are kept apart: they are read only inside the scan roots
    assert settings.config_var_files == [str(CONFIG / "full" / "env" / "prod.tfvars")]
    assert settings.databases == {"aws_db_instance.main": DatabaseOverride(400, 5)}
    assert settings.clients == {"aws_ecs_service.worker": "aws_db_instance.main"}
    assert settings.default_pool_sizes == {"PG_POOL_SIZE": 10, "hikari": 10}
    assert settings.config_file == str(CONFIG / "full" / "pyproject.toml")


def test_config_is_found_walking_up_from_the_first_path() -> None:
    settings = settings_for(CONFIG / "full" / "infra" / "app" / "main.tf")
    assert settings.config_file == str(CONFIG / "full" / "pyproject.toml")


def test_config_is_found_from_the_working_directory_when_the_path_has_none(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(CONFIG / "dotfile")
    assert settings_for(tmp_path).fail_on == "info"


def test_no_config_file_means_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    assert settings_for(tmp_path) == Settings()


def test_dot_connbudget_toml_holds_the_keys_at_top_level() -> None:
    settings = settings_for(CONFIG / "dotfile")
    assert (settings.fail_on, settings.threshold) == ("info", 0.75)


def test_dot_connbudget_toml_wins_over_pyproject_in_the_same_directory() -> None:
    assert settings_for(CONFIG / "both").fail_on == "info"


def test_explicit_config_file_is_used_instead_of_the_search() -> None:
    settings = settings_for(CONFIG / "full", config=str(CONFIG / "dotfile" / ".connbudget.toml"))
    assert settings.fail_on == "info"
    assert settings.disabled_rules == set()


def test_flags_override_the_file() -> None:
    settings = settings_for(CONFIG / "full", fail_on="error", threshold=0.9,
                            var_files=["extra.tfvars"])
    assert (settings.fail_on, settings.threshold) == ("error", 0.9)
    assert settings.var_files[-1] == "extra.tfvars"


@pytest.mark.parametrize(("case", "message"), [
    ("unknown-key", ".connbudget.toml: unknown key 'treshold'"),
    ("unknown-rule", ".connbudget.toml: 'disable' names unknown rule CB999"),
    ("bad-type", ".connbudget.toml: 'threshold' must be a number between 0 and 1"),
    ("bad-toml", ".connbudget.toml: not valid TOML"),
    ("unknown-database-key",
     """.connbudget.toml: unknown key 'databases."aws_db_instance.main".max_connections'"""),
])
def test_bad_config_is_a_usage_error_naming_the_file(case: str, message: str) -> None:
    with pytest.raises(UsageError) as raised:
        settings_for(CONFIG / case)
    assert str(raised.value).startswith(str(CONFIG / case) + "/")
    assert message in str(raised.value)


def test_explicit_config_that_does_not_exist_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot read config file"):
        settings_for(tmp_path, config=str(tmp_path / "nope.toml"))


def test_cli_exits_2_with_the_config_error_and_no_traceback() -> None:
    result = run_cli("scan", str(CONFIG / "unknown-rule"))
    assert result.code == 2
    assert "unknown-rule/.connbudget.toml: 'disable' names unknown rule CB999" in result.err


def test_cli_applies_disable_exclude_and_fail_on_from_the_file() -> None:
    result = run_cli("sql", str(CONFIG / "project"), "--format", "json")
    findings = result.json()["findings"]  # type: ignore[index]
    assert [(f["rule_id"], Path(f["file"]).name) for f in findings] == [
        ("CB002", "V1__reporting.sql")]
    assert result.code == 1  # fail-on = "warning"


def test_cli_fail_on_flag_overrides_the_file() -> None:
    assert run_cli("sql", str(CONFIG / "project"), "--fail-on", "error").code == 0


def _repository(tmp_path: Path) -> Path:
    """fixtures/config/project as a checkout of its own (its top holds .git)."""
    repo = tmp_path / "repo"
    shutil.copytree(CONFIG / "project", repo)
    (repo / ".git").mkdir()
    return repo


def test_no_config_reads_none(tmp_path: Path) -> None:
    repo = _repository(tmp_path)
    assert settings_for(repo, use_config=False) == Settings()
    result = run_cli("sql", str(repo), "--no-config", "--format", "json")
    files = {Path(f["file"]).name for f in result.json()["findings"]}  # type: ignore[index]
    assert files == {"V0__old.sql", "V1__reporting.sql"}  # legacy/ is no longer excluded
    assert "config" not in result.json()


def test_config_and_no_config_cannot_both_be_given(tmp_path: Path) -> None:
    result = run_cli("scan", str(tmp_path), "--no-config", "--config", "x.toml")
    assert result.code == 2
    assert "not allowed with argument" in result.err


def test_a_config_above_the_repository_is_never_read(tmp_path: Path) -> None:
    (tmp_path / ".connbudget.toml").write_text('fail-on = "info"\n')
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    assert settings_for(repo).config_file is None


def test_a_config_file_outside_the_tree_reads_its_paths_from_the_tree_top(
        tmp_path: Path) -> None:
    """The base branch's config, saved by the CI job outside the checkout: `/legacy` still
    means the checkout's legacy/ directory."""
    repo = _repository(tmp_path)
    (repo / ".connbudget.toml").unlink()
    base = tmp_path / "runner-temp" / "connbudget.toml"
    base.parent.mkdir()
    base.write_text('exclude = ["/legacy"]\n')
    settings = settings_for(repo / "db", config=str(base))
    assert (settings.config_file, settings.exclude_root) == (str(base), str(repo))
    result = run_cli("sql", str(repo), "--config", str(base), "--format", "json")
    assert {Path(f["file"]).name for f in result.json()["findings"]} == {  # type: ignore[index]
        "V1__reporting.sql"}


def test_a_toml_error_shows_its_position_and_no_text_of_the_file() -> None:
    with pytest.raises(UsageError) as raised:
        settings_for(CONFIG / "bad-toml")
    # the string is not closed: the line ends at column 17
    assert str(raised.value) == (f"{CONFIG}/bad-toml/.connbudget.toml: not valid TOML "
                                 "(line 1, column 17)")


def test_what_the_config_sets_is_listed_in_the_report() -> None:
    result = run_cli("sql", str(CONFIG / "project"))
    assert "config fixtures/config/project/.connbudget.toml sets fail-on = \"warning\"; " \
        'disable = ["CB005"]; exclude = ["legacy/"]' in " ".join(result.out.split())
    document = run_cli("sql", str(CONFIG / "project"), "--format", "json").json()
    assert document["config"] == {  # type: ignore[index]
        "file": str(CONFIG / "project" / ".connbudget.toml"),
        "sets": {"fail-on": "warning", "disable": ["CB005"], "exclude": ["legacy/"]}}
