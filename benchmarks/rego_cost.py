"""The Rego engines on PyPI, measured for connbudget's role rules.

    python benchmarks/rego_cost.py

For each engine that is installed: whether it imports and evaluates under an address-space
limit of 1 GiB and of 2 GiB (`ulimit -v`, as confined CI jobs set it), and its cost per role
document on the bundled policies, one engine call per document and one call for a batch of a
file's documents (`with input as` each one). regorus is the run-time engine; regopy (rego-cpp)
and the real OPA (opa-golib-python-bindings) are installed for the tests.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = ROOT / "fixtures" / "policies" / "documents"
COUNT = 1_000  # documents per measurement, a file's worth
GIB = 1024 ** 3

Evaluate = Callable[[list[dict[str, Any]]], object]


def _documents() -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for path in sorted(DOCUMENTS.glob("*.json")):
        found.extend(json.loads(path.read_text(encoding="utf-8")))
    return (found * (COUNT // len(found) + 1))[:COUNT]


def _sources() -> tuple[dict[str, str], str, str]:
    from connbudget.rules.roles import batch_query, policy_files, results_query

    sources = {str(p): p.read_text(encoding="utf-8") for p in policy_files()}
    return sources, results_query(sources), batch_query(sources)


def _regorus() -> tuple[Evaluate, Evaluate]:
    import regorus  # type: ignore[import-untyped]

    sources, single, batch = _sources()
    engine = regorus.Engine()
    for name, text in sources.items():
        engine.add_policy(name, text)

    def one(documents: list[dict[str, Any]]) -> object:
        for document in documents:
            engine.set_input_json(json.dumps(document))
            json.loads(engine.eval_query_as_json(single))
        return None

    def many(documents: list[dict[str, Any]]) -> object:
        engine.set_input_json(json.dumps({"documents": documents}))
        return json.loads(engine.eval_query_as_json(batch))

    return one, many


def _regopy() -> tuple[Evaluate, Evaluate | None]:
    import regopy  # type: ignore[import-untyped]

    sources, single, _ = _sources()
    interpreter = regopy.Interpreter()
    for name, text in sources.items():
        interpreter.add_module(name, text)
    bundle = interpreter.build(single)

    def one(documents: list[dict[str, Any]]) -> object:
        for document in documents:
            interpreter.set_input_term(json.dumps(document))
            str(interpreter.query_bundle(bundle))
        return None

    return one, None  # `with input as` crashes rego-cpp: no batches


def _opa() -> tuple[Evaluate, Evaluate]:
    from opa_bindings import OpaEngine  # type: ignore[import-not-found]

    sources, single, batch = _sources()
    engine = OpaEngine()
    for name, text in sources.items():
        engine.add_policy(name, text)

    def one(documents: list[dict[str, Any]]) -> object:
        for document in documents:
            engine.eval_query(single, document)
        return None

    def many(documents: list[dict[str, Any]]) -> object:
        return engine.eval_query(f"v := {batch}", {"documents": documents})

    return one, many


ENGINES: dict[str, tuple[str, Callable[[], tuple[Evaluate, Evaluate | None]]]] = {
    "regorus": ("gordon-to-regorus", _regorus),
    "regopy": ("regopy (rego-cpp)", _regopy),
    "opa": ("opa-golib-python-bindings (OPA, Go)", _opa),
}


def _per_document(evaluate: Evaluate | None, documents: list[dict[str, Any]]) -> str:
    if evaluate is None:
        return "-"
    evaluate(documents[:50])  # warm up
    start = time.perf_counter()
    evaluate(documents)
    return f"{(time.perf_counter() - start) / len(documents) * 1000:.2f} ms"


def _child(name: str, limit: int) -> None:
    """In a child process: build the engine and evaluate a batch under `limit` bytes."""
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    one, many = ENGINES[name][1]()
    (many or one)(_documents())
    print("ok")


def _works_under(name: str, limit: int) -> str:
    proc = subprocess.run([sys.executable, __file__, "--child", name, str(limit)],
                          capture_output=True, text=True, timeout=300)
    if proc.stdout.strip() == "ok":
        return "yes"
    if "snmalloc" in proc.stderr:
        return "no (aborts: Failed to initialise snmalloc.)"
    if "out of memory" in proc.stderr:
        return "no (out of memory)"
    return f"no (exit {proc.returncode})"


def measure() -> str:
    """The table of every installed engine."""
    documents = _documents()
    lines = ["| engine | under ulimit -v 1 GiB | under 2 GiB | per document, one call each | "
             "per document, one call per file |", "|---|---|---|---:|---:|"]
    for name, (label, build) in ENGINES.items():
        try:
            one, many = build()
        except ImportError:
            lines.append(f"| {label} | not installed | | | |")
            continue
        lines.append(f"| {label} | {_works_under(name, GIB)} | {_works_under(name, 2 * GIB)} | "
                     f"{_per_document(one, documents)} | {_per_document(many, documents)} |")
    return (f"Role documents: the {len(documents):,} of a file, from "
            "fixtures/policies/documents/.\n\n" + "\n".join(lines) + "\n")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        _child(sys.argv[2], int(sys.argv[3]))
    else:
        print(measure(), end="")
