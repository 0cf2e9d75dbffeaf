"""Every fix is applied as printed: for each scenario fixture, copy it, scan it, apply one
finding's edits, scan again, and that finding (rule and resource) is gone."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import tomllib
from conftest import FIXTURES, apply_edits
from inprocess import run_main

FIXTURE_DIRS = sorted(
    [f"capacity/{p.name}" for p in (FIXTURES / "capacity").iterdir() if p.is_dir()]
    + [f"stacks/{p.name}" for p in (FIXTURES / "stacks").iterdir() if p.is_dir()]
    # applications deployed: fixes that edit the framework's own setting
    + [f"apps/deployed/{p.name}" for p in (FIXTURES / "apps" / "deployed").iterdir()
       if p.is_dir()]
    + [f"sql/rules/{p.name}" for p in (FIXTURES / "sql" / "rules").iterdir()
       if p.is_dir() and "_fail" in p.name])

# Findings that carry no edit, and why none can be written.
NO_EDIT = {
    "CB103": "asks for a number the files do not give (a pin, or the setting to state)",
    "CB110": "a note that nothing was recognised; nothing to change",
    "CB111": "what makes a budget complete is a mapping, a render or the file kind it waits for "
             "(the config, or another run)",
    "CB006": "a suppression comment to correct by hand (which rule, which reason)",
    "CB007": "a statement built at run time: only its author knows the role",
    "CB008": "SQL built at run time: only its author knows the role",
}
# One finding of one fixture with no edit, and why.
NO_EDIT_HERE = {
    ("capacity/two-roots", "CB107"): "the role needs more than the usable slots: the fix is to "
                                     "shrink its clients first (the CB101 edit), then the limit",
    ("capacity/unknown-instance-class", "CB109"): "max_connections is unknown, so no alarm "
                                                  "threshold can be computed (CB103 asks for it)",
    ("stacks/lambda-secret", "CB109"): "the archive's max_connections is unknown, so no alarm "
                                       "threshold can be computed (CB103 asks for it)",
    **{("stacks/remote-modules", rule): "the database and the service are declared inside "
                                        "modules terraform init installed (.terraform): their "
                                        "calls are what to change, not the installed copies"
       for rule in ("CB101", "CB109")},
    **{(f"capacity/prepared-statements-{release}", "CB112"):
       "the pooler's setting goes into a container's env list, left to the reader, and the "
       "client's is a connection string, never rewritten (it may hold a password)"
       for release in ("1-23", "1-24")},
    **{(fixture, rule): "the role is named at run time (EXECUTE, gexec): only its author "
                        "knows which role to alter"
       for fixture in ("sql/rules/cb008_fail_execute_variable", "sql/rules/cb008_fail_gexec_query")
       for rule in ("CB001", "CB005")},
}


def _scan(directory: Path) -> dict[str, Any]:
    outcome = run_main("scan", str(directory), "--format", "json")
    assert outcome.code in (0, 1), outcome.err
    return outcome.json()


def _key(finding: dict[str, Any], tree: Path) -> tuple[str, str, str]:
    # several roots may hold the same address: the file tells them apart
    return finding["rule_id"], finding["resource"], finding["file"].replace(str(tree), "", 1)


@pytest.mark.parametrize("fixture", FIXTURE_DIRS)
def test_every_fix_applied_as_printed_clears_its_finding(fixture: str, tmp_path: Path) -> None:
    original = tmp_path / "original"
    shutil.copytree(FIXTURES / fixture, original)
    findings = _scan(original)["findings"]
    assert findings, "a scenario fixture with nothing to fix"
    # every exemption of this fixture is still needed
    for (where, rule) in NO_EDIT_HERE:
        if where == fixture:
            assert any(f["rule_id"] == rule and not f["edits"] for f in findings), (where, rule)
    for number, finding in enumerate(findings):
        if not finding["edits"]:
            assert finding["rule_id"] in NO_EDIT or (fixture, finding["rule_id"]) in \
                NO_EDIT_HERE, f"{finding['rule_id']} {finding['resource']} has no edit"
            continue
        copy = tmp_path / f"fixed-{number}"
        shutil.copytree(original, copy)
        apply_edits([{**e, "file": e["file"].replace(str(original), str(copy), 1)}
                for e in finding["edits"]])
        after = [_key(f, copy) for f in _scan(copy)["findings"]]
        assert _key(finding, original) not in after, (finding["fix"], finding["edits"])


def _toml_blocks(fix: str) -> list[str]:
    """The [tool.connbudget...] blocks of a fix: the table line and the lines after it."""
    lines = fix.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("[tool.connbudget.")]
    blocks = []
    for start in starts:
        end = start + 1
        while end < len(lines) and lines[end].startswith("#"):
            end += 1
        blocks.append("\n".join(lines[start:end]))
    return blocks


def test_config_fixes_are_valid_toml_blocks() -> None:
    outcome = run_main("capacity", str(FIXTURES / "capacity"), str(FIXTURES / "stacks"),
                       "--format", "json")
    blocks = [block for f in outcome.json()["findings"] for block in _toml_blocks(f["fix"])]
    assert len(blocks) >= 3
    for block in blocks:
        table = tomllib.loads(block)["tool"]["connbudget"]
        assert set(table) <= {"databases", "poolers"}, block
        assert block.count("\n") >= 1, "a table and what goes in it, one a line"


def test_an_edit_never_echoes_a_line_with_a_password(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text("""\
resource "aws_db_instance" "main" {
  identifier     = "main"
  engine         = "postgres"
  instance_class = "db.t3.micro"
}

resource "aws_ecs_task_definition" "api" {
  family = "api"
  container_definitions = jsonencode([{
    name  = "api"
    image = "example/api:1.0.0"
    environment = [
      { name = "DATABASE_URL",
        value = "postgres://app:hunter2-secret@main.internal/app?pool_max_conns=40" },
    ]
  }])
}

resource "aws_ecs_service" "api" {
  name                       = "api"
  task_definition            = aws_ecs_task_definition.api.arn
  desired_count              = 4
  deployment_maximum_percent = 100
}
""")
    outcome = run_main("capacity", str(tmp_path), "--format", "json")
    assert "hunter2" not in outcome.out
    [cb101] = [f for f in outcome.json()["findings"] if f["rule_id"] == "CB101"]
    # the pool is set inside the URL: that line is not shown; the task count's line is
    assert [e["line"] for e in cb101["edits"]] == [22]


def test_cb001_sizes_the_limit_from_what_logs_in_as_the_role(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "capacity" / "direct-over-budget", tmp_path / "stack")
    main = tmp_path / "stack" / "main.tf"
    # the service logs in as app; the role leaves connection_limit at the provider's -1
    text = main.read_text().replace(
        '{ name = "DATABASE_HOST", value = aws_db_instance.main.address },',
        '{ name = "DATABASE_HOST", value = aws_db_instance.main.address },\n'
        '        { name = "DB_USER", value = "app" },', 1)
    main.write_text(text
                    + '\nresource "postgresql_role" "app" {\n  name  = "app"\n  login = true\n'
                      "  idle_in_transaction_session_timeout = 60000\n}\n")
    findings = _scan(tmp_path / "stack")["findings"]
    [cb001] = [f for f in findings if f["rule_id"] == "CB001"]
    # 12 tasks x 10 = 120 at 80 % of the limit asks 150, but never above the 95 usable slots
    assert cb001["fix"] == (
        "set connection_limit = 95 in postgresql_role.app: the 95 usable slots (a need of 120 "
        "at 80 % would ask 150; 120 is more than the database has (CB101)); what logs in as app "
        "needs 120 (aws_ecs_service.api 120)")
    apply_edits(cb001["edits"])
    assert "CB001" not in [f["rule_id"] for f in _scan(tmp_path / "stack")["findings"]]


def test_a_role_inside_a_module_is_fixed_in_the_module_call() -> None:
    report = run_main("scan", str(FIXTURES / "terraform" / "roles" / "modules"),
                      "--format", "json").json()
    [cb001] = [f for f in report["findings"]
               if f["rule_id"] == "CB001" and f["resource"] == "module.worker.postgresql_role.this"]
    # the module's own file is shared by every call: the call's input is what to change
    main = FIXTURES / "terraform" / "roles" / "modules" / "main.tf"
    call = 1 + main.read_text().splitlines().index('module "worker" {')
    assert cb001["fix"].endswith(
        "module.worker.postgresql_role.this is inside module.worker, which sets connection_limit "
        'from var.connection_limit: set connection_limit in the module "worker" call '
        f"({main}:{call})")
    # the call is where a pull request changes it: the finding points there too
    assert cb001["related"] == [{"file": str(main), "line": call, "message":
                                 "module.worker call: sets connection_limit of "
                                 "module.worker.postgresql_role.this"}]


def test_a_role_fix_inside_a_module_names_the_line_of_the_input_the_call_sets(
        tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "terraform" / "roles" / "modules", tmp_path / "tree")
    main = tmp_path / "tree" / "main.tf"
    # module.api sets connection_limit = 30; make it unlimited at the call, on that input's line
    text = main.read_text().replace("connection_limit = 30", "connection_limit = -1")
    main.write_text(text)
    line = 1 + text.splitlines().index("  connection_limit = -1")
    report = run_main("scan", str(tmp_path / "tree"), "--format", "json").json()
    [cb001] = [f for f in report["findings"]
               if f["rule_id"] == "CB001" and f["resource"] == "module.api.postgresql_role.this"]
    assert cb001["fix"].endswith(f'set connection_limit in the module "api" call ({main}:{line})')
    assert [r["line"] for r in cb001["related"]] == [line]


def test_a_proxy_at_the_default_percentage_gets_it_inside_its_pool_block(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    shutil.copytree(FIXTURES / "capacity" / "rds-proxy-default", tree)
    main = tree / "main.tf"
    # the target group has a connection_pool_config block, without max_connections_percent
    main.write_text(main.read_text().replace(
        "  db_proxy_name = aws_db_proxy.main.name\n}",
        "  db_proxy_name = aws_db_proxy.main.name\n\n  connection_pool_config {\n"
        "    max_idle_connections_percent = 50\n  }\n}", 1))
    [cb102] = [f for f in _scan(tree)["findings"] if f["rule_id"] == "CB102"]
    [edit] = cb102["edits"]
    assert (edit["old"], edit["new"]) == ("  connection_pool_config {",
                                          "  connection_pool_config {\n"
                                          "    max_connections_percent = 78")
    apply_edits(cb102["edits"])
    assert not [f for f in _scan(tree)["findings"] if f["rule_id"] == "CB102"]


# CB103 fixes that ask for a pin or a mapping: applied, every client the files name is counted

_PIN = re.compile(r'\[tool\.connbudget\.databases\."([^"]+)"\]')
_MAP = re.compile(r'\[tool\.connbudget\.clients\] "([^"]+)" = "([^"]+)"')
_PINNED = 500  # what SHOW max_connections would print
CAPACITY_DIRS = [d for d in FIXTURE_DIRS if not d.startswith("sql/")]


def _config_of(fixes: list[str]) -> dict[str, dict[str, Any]]:
    """The [tool.connbudget] tables the fixes ask for, their placeholders filled in."""
    table: dict[str, dict[str, Any]] = {"databases": {}, "clients": {}}
    for fix in fixes:
        for address in _PIN.findall(fix):
            table["databases"][address] = {"max-connections": _PINNED}
        for client, database in _MAP.findall(fix):
            table["clients"][client] = database
    return table


def _toml(table: dict[str, Any], prefix: str) -> list[str]:
    """A table of tables, strings and numbers as TOML."""
    def key(name: str) -> str:
        return name if re.fullmatch(r"[\w-]+", name) else json.dumps(name)

    lines = [f"[{prefix}]"]
    lines += [f"{key(k)} = {json.dumps(v)}" for k, v in table.items() if not isinstance(v, dict)]
    for name, inner in table.items():
        if isinstance(inner, dict):
            lines += _toml(inner, f"{prefix}.{key(name)}")
    return lines


def _write_config(tree: Path, wanted: dict[str, dict[str, Any]]) -> None:
    """The wanted tables merged into the tree's own config (or a new pyproject.toml)."""
    own = tree / ".connbudget.toml"
    path, prefix = (own, "") if own.exists() else (tree / "pyproject.toml", "tool.connbudget")
    data = tomllib.loads(path.read_text()) if path.exists() else {}
    table = data if not prefix else data.setdefault("tool", {}).setdefault("connbudget", {})
    for name, entries in wanted.items():
        table.setdefault(name, {}).update(entries)
    lines = []
    for name, value in data.items():
        lines += _toml(value, name) if isinstance(value, dict) else [
            f"{name} = {json.dumps(value)}"]
    path.write_text("\n".join(lines) + "\n")


def _counted(report: dict[str, Any]) -> set[str]:
    return {name for budget in report["budgets"] for client in budget["clients"]
            for name in [client["client"], *(b["client"] for b in client.get("behind", []))]}


@pytest.mark.parametrize("fixture", CAPACITY_DIRS)
def test_every_pin_and_map_fix_applied_counts_every_client_the_files_name(
        fixture: str, tmp_path: Path) -> None:
    from test_aws_compute import model_of

    tree = tmp_path / "tree"
    shutil.copytree(FIXTURES / fixture, tree)
    # a pin asks for a number (CB103), a mapping for a client's database (CB111)
    asked = [f["fix"] for f in _scan(tree)["findings"] if f["rule_id"] in ("CB103", "CB111")
             and (_PIN.search(f["fix"]) or _MAP.search(f["fix"]))]
    if asked:
        _write_config(tree, _config_of(asked))
    report = _scan(tree)
    named = {client.where.address for client in model_of(tree).clients}
    assert named <= _counted(report), (asked, named - _counted(report))
    assert not [f for f in report["findings"] if f["rule_id"] in ("CB103", "CB111")
                and (_PIN.search(f["fix"]) or _MAP.search(f["fix"]))]
