"""The layers as the README draws them: no import cycle, and the model, rules and reporters
never read a file (they get what the front ends read)."""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

import pytest
from conftest import FIXTURES, ROOT

PACKAGE = ROOT / "src" / "connbudget"
# The layers that work on what the front ends read, never on files; the suppressions match
# the comments the front ends lexed.
NO_FILES = ("budgets.py", "report.py", "model.py", "numbers.py", "capacity/", "rules/",
            "reporters/", "providers/", "comments.py", "kinds.py")
_OPENERS = {"open", "read_regular", "read_text", "read_bytes"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node, functions' bodies included, except what `if TYPE_CHECKING:` guards."""
    found: list[ast.AST] = []
    todo = [tree]
    while todo:
        node = todo.pop()
        found.append(node)
        if isinstance(node, ast.If) and _is_type_checking(node):
            todo.extend(node.orelse)
            continue
        todo.extend(ast.iter_child_nodes(node))
    return found


def _package_of(module: str) -> str:
    return module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]


def _resolve(module: str, node: ast.ImportFrom) -> list[str]:
    if node.level:
        base = _package_of(module).split(".")
        base = base[:len(base) - node.level + 1]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    # `from pkg import name` imports pkg.name when that is a module.
    names = [f"{target}.{alias.name}" for alias in node.names]
    return [name for name in names if name in MODULES] or [target]


def _with_parents(name: str) -> set[str]:
    """Importing `a.b.c` runs `a/__init__` and `a/b/__init__` first: they count too."""
    parts = name.split(".")
    return {".".join(parts[:n]) for n in range(1, len(parts) + 1)}


def imports(module: str) -> set[str]:
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in _nodes(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found |= _with_parents(alias.name)
        elif isinstance(node, ast.ImportFrom):
            for name in _resolve(module, node):
                found |= _with_parents(name)
    own = _with_parents(module)
    return {name for name in found if name in MODULES and name not in own}


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle of `graph` as the modules along it, first repeated at the end; []."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for root in sorted(graph):
        if state.get(root):
            continue
        path = [root]
        stack = [iter(sorted(graph[root]))]
        state[root] = 1
        while stack:
            child = next(stack[-1], None)
            if child is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(child) == 1:
                return path[path.index(child):] + [child]
            elif not state.get(child):
                state[child] = 1
                path.append(child)
                stack.append(iter(sorted(graph[child])))
    return []


def test_find_cycle_reports_the_modules_along_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) == []


def test_a_module_imports_the_packages_above_what_it_imports() -> None:
    assert "connbudget.providers" in imports("connbudget.capacity.analyze")
    assert "connbudget.providers.aws" in imports("connbudget.providers.registry") \
        or "connbudget.providers.aws" not in {m for m in MODULES if "registry" in m}


def test_every_module_imports_on_its_own() -> None:
    """A cycle that only some import orders hit shows when each module is the first."""
    import json
    import subprocess
    import sys

    # One fresh interpreter that has imported nothing of connbudget forks a child per module,
    # which imports that module first and says how it ended.
    script = """
import json, os, sys
# what every module may use and no connbudget cycle can involve: the standard library's
# heavier modules and the third-party packages, imported once here
for name in ("argparse", "dataclasses", "decimal", "typing", "inspect", "tomllib", "csv",
             "pglast", "yaml", "tree_sitter", "tree_sitter_hcl", "psycopg"):
    try:
        __import__(name)
    except ImportError:
        pass
failed = {}
for module in json.loads(sys.argv[1]):
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        try:
            __import__(module)
            message = b""
        except BaseException as exc:
            message = f"{type(exc).__name__}: {exc}".encode()
        os.write(write_end, message)
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as handle:
        message = handle.read().decode()
    os.waitpid(pid, 0)
    if message:
        failed[module] = message
print(json.dumps(failed))
"""
    names = [m for m in MODULES if not m.endswith("__main__")]
    done = subprocess.run([sys.executable, "-c", script, json.dumps(names)],
                          capture_output=True, text=True, timeout=300, check=True)
    assert json.loads(done.stdout) == {}


def _private_imports(module: str) -> list[str]:
    """`from a.b import _name` where a.b is not the importer's own package."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    own = _package_of(module)
    found = []
    for node in _nodes(tree):
        if isinstance(node, ast.ImportFrom) and not node.level and node.module:
            source = node.module if MODULES.get(node.module, Path()).name == "__init__.py" \
                else node.module.rpartition(".")[0]
            for alias in node.names:
                if alias.name.startswith("_") and not alias.name.startswith("__") \
                        and source != own:
                    found.append(f"{module}: {node.module}.{alias.name}")
    return found


def test_no_private_name_is_imported_from_another_package() -> None:
    assert [found for module in MODULES for found in _private_imports(module)] == []


def test_findings_are_made_in_the_rules_layer_only() -> None:
    makers = []
    for module, path in MODULES.items():
        if module.startswith(("connbudget.rules", "connbudget.report")) \
                or module == "connbudget.diff":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        makers += [f"{module}:{node.lineno}" for node in _nodes(tree)
                   if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                   and node.func.id == "Finding"]
    assert makers == []


def _code_words(path: Path) -> list[tuple[int, str]]:
    """(line, text) of the names and string literals of a module's code: comments and
    docstrings left out."""
    import io
    import tokenize

    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {node.body[0].value.lineno for node in _nodes(tree)
                  if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef)
                  and node.body and isinstance(node.body[0], ast.Expr)
                  and isinstance(node.body[0].value, ast.Constant)}
    found = []
    source = io.StringIO(path.read_text(encoding="utf-8"))
    for token in tokenize.generate_tokens(source.readline):
        if token.type in (tokenize.NAME, tokenize.STRING) and token.start[0] not in docstrings:
            found.append((token.start[0], token.string))
    return found


# Each provider's words and resource types, said only in its own package, in the rows that
# register platforms and input kinds, and in the front ends of its formats.
PROVIDER_WORDS = {
    "aws": r"\b(aws_\w*|rds|ecs|cloudwatch)\b",
    "google": r"\b(google_\w*|cloud ?sql|cloud_?run|gke|num_backends)\b",
    "azure": r"\b(azurerm_\w*|azure|bicep|flexibleservers|containerapps)\b",
}
_SHARED_ROWS = ("connbudget.providers.registry", "connbudget.kinds", "connbudget.frontends",
                "connbudget.cli")


@pytest.mark.parametrize("provider", sorted(PROVIDER_WORDS))
def test_the_provider_knowledge_stays_in_its_package(provider: str) -> None:
    """A provider's words and resource types are said in providers/<provider> and in the rows
    that register its platforms and input kinds only: the model, matching, budgets, fixes,
    rules, reporters and the other providers know no platform of it."""
    import re

    word = re.compile(PROVIDER_WORDS[provider], re.IGNORECASE)
    outside = []
    for module, path in MODULES.items():
        if module.startswith((f"connbudget.providers.{provider}", *_SHARED_ROWS)):
            continue
        outside += [f"{module}:{line}: {text}" for line, text in _code_words(path)
                    if word.search(text)]
    assert outside == []


def test_imports_inside_functions_count_and_type_checking_ones_do_not() -> None:
    assert "connbudget.capacity.analyze" in imports("connbudget.engine")  # imported in a function
    assert "connbudget.model" not in imports("connbudget.engine")  # TYPE_CHECKING


def test_no_import_cycle() -> None:
    graph = {module: imports(module) for module in MODULES}
    cycle = find_cycle(graph)
    assert not cycle, "import cycle: " + " -> ".join(cycle)


def _file_reads(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in _nodes(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else (
                func.attr if isinstance(func, ast.Attribute) else "")
            owner = func.value.id if isinstance(func, ast.Attribute) and isinstance(
                func.value, ast.Name) else ""
            if name in _OPENERS or (owner == "os" and name == "open"):
                found.append(f"{path.name}:{node.lineno}: {name}()")
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names = [alias.name for alias in node.names]
            module = node.module if isinstance(node, ast.ImportFrom) else ""
            if "confine" in (module or "").split(".") or any(
                    n.split(".")[-1] == "confine" for n in names):
                found.append(f"{path.name}:{node.lineno}: imports confine")
    return found


# the modules that read what the package ships (data tables, the policies), never an input
SHIPPED = ("providers/tables.py", "providers/aws/data.py", "rules/roles.py")


def test_model_rules_reporters_and_suppressions_open_no_file() -> None:
    paths = [p for p in MODULES.values()
             if any(str(p.relative_to(PACKAGE)).startswith(layer) for layer in NO_FILES)
             and str(p.relative_to(PACKAGE)) not in SHIPPED]
    assert len(paths) > 10
    assert [read for path in paths for read in _file_reads(path)] == []


def _readme_layout() -> dict[str, set[str]]:
    """The README's layout of src/connbudget: each directory it names -> the entries under it."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text[text.index("```\nsrc/connbudget/\n") + 4:]
    block = block[:block.index("```")]
    layout: dict[str, set[str]] = {"": set()}
    parents = [""]
    for line in block.splitlines()[1:]:
        names = line.strip().split("   ")[0]
        depth = (len(line) - len(line.lstrip())) // 2
        if depth < 1 or not names or line.startswith(" " * 20):
            continue
        parents = parents[:depth]
        for name in (n.strip() for n in names.split(",") if n.strip()):
            layout.setdefault(parents[-1], set()).add(name)
            if name.endswith("/"):
                layout.setdefault(parents[-1] + name, set())
                parents.append(parents[-1] + name)
    return layout


def test_the_readme_layout_names_every_top_level_module_and_only_real_paths() -> None:
    layout = _readme_layout()
    named = {f"{parent}{name}" for parent, names in layout.items() for name in names}
    assert [path for path in sorted(named) if not (PACKAGE / path).exists()] == []
    top = {p.name + ("/" if p.is_dir() else "") for p in PACKAGE.iterdir()
           if p.name not in ("__init__.py", "__main__.py", "data", "__pycache__")}
    assert top - layout[""] == set()
    assert {p.name + "/" for p in (PACKAGE / "frontends").iterdir()
            if p.is_dir() and p.name != "__pycache__"} <= layout["frontends/"]


def test_a_scan_opens_each_input_file_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Front ends, suppressions and the edits of fixes all read a file from one read: a stack
    with a SQL migration, Terraform, a pgbouncer.ini, Kubernetes and operator manifests and
    fixes whose edits quote the lines they change."""
    import os

    from inprocess import run_main

    opened: Counter[str] = Counter()
    real_open = os.open

    def counting(path: str, flags: int, *args: int, **kwargs: int) -> int:
        opened[os.path.realpath(path)] += 1
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", counting)
    trees = [FIXTURES / "stacks" / "split-demo", FIXTURES / "capacity" / "pooler-role-limit",
             FIXTURES / "capacity" / "zalando-operator", FIXTURES / "capacity" / "k8s-hpa",
             FIXTURES / "sql" / "rules" / "cb004_fail"]
    outcome = run_main("scan", *map(str, trees), "--format", "json", "--no-cache")
    assert outcome.code in (0, 1), outcome.err
    report = outcome.json()
    assert any(f["edits"] for f in report["findings"])
    inputs = {os.path.realpath(p) for tree in trees for p in tree.rglob("*")
              if p.is_file() and p.suffix in (".tf", ".ini", ".yaml", ".yml", ".sql")}
    assert inputs and all(opened[path] == 1 for path in inputs), \
        {p: n for p, n in opened.items() if p in inputs and n != 1}


def test_the_alerts_formats_the_command_line_offers_are_the_alarm_modules_own() -> None:
    from connbudget.providers.registry import ALARM_FORMATS, alarm_formats, alarm_modules

    modules = alarm_modules()
    assert sorted(modules) == alarm_formats()
    assert {module.__name__: name for name, module in modules.items()} == ALARM_FORMATS
