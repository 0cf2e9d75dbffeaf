"""`conftest test` reproduced over the real OPA, rule for rule, for the commands the README gives.

From open-policy-agent/conftest (policy/engine.go, runner/test.go, output/result.go,
output/standard.go, output/github.go; Conftest 0.6x embeds OPA v1):

- every `.rego` file under `-p` is loaded, `*_test.rego` included, with METADATA parsed (a broken
  block fails the load);
- namespaces: `--namespace` (repeatable, default `main`) or, with `--all-namespaces`, every
  package of the loaded modules;
- in each namespace the rules named `deny`, `violation` or `warn` (optionally `_suffix`) are
  queried; `deny`/`violation` results are failures, `warn` results warnings; a result is a string
  or an object with a string `msg`, and `_loc: {file, line}` becomes its location;
- a JSON input whose top level is an array is split: each element is its own document, and the
  results are gathered under the file;
- successes: one per rule definition that produced nothing;
- exit code 1 when there is a failure, else 0; with `--fail-on-warn`, 2 for a failure and 1 for a
  warning. An evaluation error aborts the whole run (exit 1).

Not reproduced: `exception` rules, `--combined`, `--data`, parsers other than JSON.
"""

from __future__ import annotations

import functools
import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rego_engines import Opa

_PACKAGE = re.compile(r"^package\s+([\w.]+)", re.MULTILINE)
_RULE_HEAD = re.compile(
    r"^((?:deny|violation|warn)(?:_[a-zA-Z0-9]+)*)\b(?=\s*(?:contains|if|\[|:?=|\{))", re.MULTILINE)
_FAILURE = re.compile(r"^(deny|violation)(_[a-zA-Z0-9]+)*$")


@dataclass
class Result:
    msg: str
    location: tuple[str, str] | None  # (file, line) from `_loc`
    metadata: dict[str, Any]


@dataclass
class CheckResult:
    filename: str
    namespace: str
    successes: int = 0
    failures: list[Result] = field(default_factory=list)
    warnings: list[Result] = field(default_factory=list)


@dataclass
class ConftestRun:
    code: int
    results: list[CheckResult]
    error: str = ""

    def standard(self) -> list[str]:
        """The lines of Conftest's default (stdout) output, without colours."""
        lines = []
        for result in self.results:
            where = f"- {result.filename} - {result.namespace} -"
            lines += [f"WARN {where} {w.msg}" for w in result.warnings]
            lines += [f"FAIL {where} {f.msg}" for f in result.failures]
        failures = sum(len(r.failures) for r in self.results)
        warnings = sum(len(r.warnings) for r in self.results)
        successes = sum(r.successes for r in self.results)
        total = failures + warnings + successes
        lines.append(f"{total} test{'s' * (total != 1)}, {successes} passed, "
                     f"{warnings} warning{'s' * (warnings != 1)}, "
                     f"{failures} failure{'s' * (failures != 1)}, 0 exceptions")
        return lines

    def github(self) -> list[str]:
        """The annotation lines of `--output github`: a result's `_loc` is where it points."""
        lines = []
        for result in self.results:
            for level, found in (("error", result.failures), ("warning", result.warnings)):
                for r in found:
                    lines += _github_locations(level, result.filename, r)
        return lines


def _escape(value: str) -> str:
    for old, new in (("%", "%25"), ("\r", "%0D"), ("\n", "%0A"), (":", "%3A"), (",", "%2C")):
        value = value.replace(old, new)
    return value


def _github_locations(level: str, filename: str, result: Result) -> list[str]:
    if result.location is None or result.location[0] == filename:
        file, line = result.location or (filename, "1")
        return [f"::{level} file={_escape(file)},line={line}::{result.msg}"]
    file, line = result.location
    return [f"::{level} file={_escape(file)},line={line}::{result.msg}",
            f"::{level} file={_escape(filename)},line=1::(ORIGINATING FROM {file} L{line}) "
            f"{result.msg}"]


def _result(value: object) -> Result:
    if isinstance(value, str):
        return Result(value, None, {})
    assert isinstance(value, dict), value
    msg = value.get("msg")
    if not isinstance(msg, str):
        raise ValueError('"msg" field must be present and a string')
    loc = value.get("_loc")
    location = None
    if isinstance(loc, dict):
        file = loc.get("file") if isinstance(loc.get("file"), str) else ""
        line = loc.get("line")
        numeric = isinstance(line, int | float) and not isinstance(line, bool)
        line_text = str(line) if numeric else ""
        if file or line_text:
            location = (file, line_text)
    metadata = {k: v for k, v in value.items() if k not in ("msg", "_loc")}
    return Result(msg, location, metadata)


def conftest_test(inputs: list[Path], policy: Path, *, namespaces: tuple[str, ...] = ("main",),
                  all_namespaces: bool = False, fail_on_warn: bool = False,
                  cwd: Path | None = None) -> ConftestRun:
    """`conftest test INPUTS -p POLICY [--namespace N]... [--all-namespaces] [--fail-on-warn]`."""
    from opa_bindings import OpaError

    files = sorted(policy.rglob("*.rego"))
    if not files:
        return ConftestRun(1, [], f"no policies found in [{policy}]")
    modules = {path: path.read_text(encoding="utf-8") for path in files}
    try:
        engine = _loaded(tuple(files), tuple(modules.values()))
    except OpaError as error:
        return ConftestRun(1, [], f"load: {error}")
    package_of = {path: m.group(1) for path, text in modules.items()
                  if (m := _PACKAGE.search(text)) is not None}
    available = list(dict.fromkeys(package_of.values()))
    chosen = available if all_namespaces else list(namespaces)
    # Rule definitions per namespace: (unique names, how many definitions).
    rules: dict[str, tuple[list[str], int]] = {}
    for namespace in chosen:
        heads = [head for path, text in modules.items() if package_of.get(path) == namespace
                 for head in _RULE_HEAD.findall(text)]
        rules[namespace] = (list(dict.fromkeys(heads)), len(heads))

    results = []
    for path in inputs:
        config = json.loads((cwd / path if cwd else path).read_text(encoding="utf-8"))
        documents = config if isinstance(config, list) else [config]
        refs = [f"data.{ns}.{rule}" for ns in chosen for rule in rules[ns][0]]
        try:
            values = _evaluate(engine, refs, documents)
        except OpaError as error:
            return ConftestRun(1, [], f"running test: check: evaluating policy: {error}")
        for namespace in chosen:
            check = CheckResult(str(path), namespace)
            for per_document in values:
                _check_document(check, rules[namespace], per_document)
            results.append(check)
    failed = any(r.failures for r in results)
    warned = any(r.warnings for r in results)
    if fail_on_warn:
        code = 2 if failed else 1 if warned else 0
    else:
        code = 1 if failed else 0
    return ConftestRun(code, results)


@functools.cache
def _loaded(files: tuple[Path, ...], _texts: tuple[str, ...]) -> Opa:
    """The policies compiled once per content (OPA prepares each distinct query once per engine)."""
    engine = Opa(list(files))
    engine.value("data")  # compiles every module, METADATA included, as Conftest's load does
    return engine


def _check_document(check: CheckResult, rules: tuple[list[str], int],
                    values: dict[str, list[Any]]) -> None:
    """engine.go `check` for one document, added to the file's result."""
    names, definitions = rules
    successes, failures, warnings = 0, [], []
    for rule in names:
        outcome = values[f"data.{check.namespace}.{rule}"]
        if not outcome:
            successes += 1
            continue
        (failures if _FAILURE.match(rule) else warnings).extend(_result(v) for v in outcome)
    # One success per rule definition that produced nothing (several bodies of one rule).
    counted = len(failures) + len(warnings) + successes
    successes += max(0, definitions - counted)
    check.successes += successes
    check.failures += failures
    check.warnings += warnings


def _evaluate(engine: Opa, refs: list[str], documents: list[Any]) -> list[dict[str, list[Any]]]:
    """Each rule's results for each document. Conftest queries each rule per document; this asks
    once `with input as` each document, which OPA evaluates the same way (OPA compiles each
    distinct query, which takes seconds here)."""
    if not refs:
        return [{} for _ in documents]
    body = ", ".join(f'"{ref}": [v | some v in {ref}]' for ref in refs)
    [values] = engine.value(f"[r | some doc in input.documents; r := {{{body}}} with input as doc]",
                            {"documents": documents})
    assert isinstance(values, list)
    return values


def conftest_command(command: str, cwd: Path, policy: Path) -> ConftestRun:
    """A `conftest test ...` command line as the docs give it; `-p` is read from `policy`."""
    words = shlex.split(command)
    assert words[:2] == ["conftest", "test"], command
    inputs, namespaces, flags = [], [], set()
    rest = iter(words[2:])
    for word in rest:
        if word in ("-p", "--policy"):
            next(rest)
        elif word in ("-n", "--namespace"):
            namespaces.append(next(rest))
        elif word.startswith("--"):
            flags.add(word)
        else:
            inputs.append(Path(word))
    assert flags <= {"--all-namespaces", "--fail-on-warn"}, flags
    return conftest_test(inputs, policy, namespaces=tuple(namespaces) or ("main",),
                         all_namespaces="--all-namespaces" in flags,
                         fail_on_warn="--fail-on-warn" in flags, cwd=cwd)
