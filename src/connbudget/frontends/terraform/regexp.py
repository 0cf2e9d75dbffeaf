"""Terraform's regular expressions: RE2 syntax (Go's regexp) matched in linear time by RE2.

`replace()` with a `/pattern/`, `regex()` and `regexall()` follow Go's regexp package, which
Terraform uses: RE2 syntax (no backreferences, no lookaround), `$` at the end of the text only,
`$1`/`${name}` in replacements with Go's rules, and an empty match right after a match skipped.
Python's `re` backtracks (`/^(a+)+$/` never ends); RE2 cannot. A search costs steps in
proportion to the text it may scan, so repeated searches of a long text stop at the budget.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

from connbudget.frontends.terraform.values import MAX_STRING, EvalError, LimitError, spend

_SCAN_STEP = 256  # characters a search may scan per step of the budget
_MAX_PATTERN = 4096  # characters of a pattern


@functools.lru_cache(maxsize=256)
def compile_pattern(pattern: str) -> Any:
    import re2  # type: ignore[import-untyped]

    if len(pattern) > _MAX_PATTERN:
        raise EvalError("regular expression too long")
    options = re2.Options()
    options.log_errors = False  # RE2 would print the pattern on stderr
    try:
        return re2.compile(pattern, options=options)
    except re2.error:
        raise EvalError("invalid regular expression (Terraform uses RE2 syntax)") from None


def _matches(regex: Any, subject: str) -> Iterator[Any]:
    """Every match as Go's FindAll and ReplaceAll see them: an empty match right after the
    previous match is skipped."""
    pos, previous_end = 0, -1
    while pos <= len(subject):
        spend(1 + (len(subject) - pos) // _SCAN_STEP)
        match = regex.search(subject, pos)
        if match is None:
            return
        start, end = match.span()
        if end == pos:
            if start != previous_end:
                yield match
            pos += 1
        else:
            yield match
            pos = end
        previous_end = end


def _name(template: str, at: int) -> tuple[str, int] | None:
    """The group name after a `$` at `at` (`name` or `{name}`) and the index after it."""
    brace = template.startswith("{", at)
    start = at + 1 if brace else at
    end = start
    while end < len(template) and (template[end].isalnum() or template[end] == "_"):
        end += 1
    if end == start or (brace and not template.startswith("}", end)):
        return None
    return template[start:end], end + 1 if brace else end


def _group(regex: Any, match: Any, name: str) -> str:
    if name.isdigit() and (name == "0" or not name.startswith("0")):
        number = int(name)
        return (match.group(number) or "") if number <= regex.groups else ""
    if name in regex.groupindex:
        return match.group(name) or ""
    return ""


def _expand(regex: Any, match: Any, template: str) -> str:
    """`template` with `$n`, `${n}`, `$name`, `${name}` and `$$` expanded as Go does."""
    out: list[str] = []
    i = 0
    while True:
        dollar = template.find("$", i)
        if dollar == -1:
            out.append(template[i:])
            return "".join(out)
        out.append(template[i:dollar])
        if template.startswith("$", dollar + 1):
            out.append("$")
            i = dollar + 2
            continue
        found = _name(template, dollar + 1)
        if found is None:  # malformed: the `$` is kept as text
            out.append("$")
            i = dollar + 1
            continue
        out.append(_group(regex, match, found[0]))
        i = found[1]


def replace_all(pattern: str, subject: str, template: str) -> str:
    regex = compile_pattern(pattern)
    out: list[str] = []
    size, last = 0, 0
    for match in _matches(regex, subject):
        start, end = match.span()
        piece = subject[last:start] + _expand(regex, match, template)
        size += len(piece)
        if size > MAX_STRING:
            raise LimitError(f"a string longer than {MAX_STRING:,} characters")
        out.append(piece)
        last = end
    out.append(subject[last:])
    return "".join(out)


def _result(regex: Any, match: Any) -> Any:
    """One match as Terraform gives it: the text, a list of the groups, or a map of them."""
    names = regex.groupindex
    if regex.groups == 0:
        return match.group(0)
    if names and len(names) != regex.groups:
        raise EvalError("invalid regular expression: cannot mix named and unnamed groups")
    if names:
        return {name: match.group(name) for name in names}
    return [match.group(number) for number in range(1, regex.groups + 1)]


def first_match(pattern: str, subject: str) -> Any:
    regex = compile_pattern(pattern)
    for match in _matches(regex, subject):
        return _result(regex, match)
    raise EvalError("the regular expression matches nothing")


def all_matches(pattern: str, subject: str, limit: int) -> list[Any]:
    regex = compile_pattern(pattern)
    found: list[Any] = []
    for match in _matches(regex, subject):
        if len(found) == limit:
            raise LimitError(f"a collection of more than {limit:,} elements")
        found.append(_result(regex, match))
    return found
