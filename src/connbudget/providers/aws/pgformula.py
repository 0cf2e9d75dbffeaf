"""RDS parameter-group values: a literal ("170") or a formula.

A formula looks like `LEAST({DBInstanceClassMemory/9531392},5000)`.

Formulas follow the RDS user guide, "Specifying DB parameters": braces hold integer arithmetic on
formula variables, `*` and `/` truncate the fraction, LEAST / GREATEST / SUM take a list of
arguments, and `log()` is base 2. `+`, `-` and parentheses are accepted as well.
Evaluation is a small recursive-descent parser, never `eval()`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction

MEMORY = "DBInstanceClassMemory"
VCPU = "DBInstanceVCPU"
# Variables RDS defines that the analyzer has no figure for.
_UNKNOWN_VARIABLES = ("AllocatedStorage", "EndPointPort", "TrueIfReplica",
                      "DBInstanceClassHugePagesDefault")
_FUNCTIONS = ("LEAST", "GREATEST", "SUM", "LOG")
_MAX_LENGTH = 1000
_MAX_DEPTH = 40
_TOKEN = re.compile(r"\s*(?:(\d+)|([A-Za-z_][A-Za-z0-9_]*)|(\S))")

Number = int | float


@dataclass(frozen=True)
class Evaluation:
    value: int | None
    reason: str  # why value is None; empty when evaluated
    is_formula: bool  # False for a plain integer literal
    variables: tuple[str, ...]  # formula variables the text uses, sorted
    memory_bytes: int | None  # the DBInstanceClassMemory figure used, if the text uses it
    memory_note: str  # where that figure came from


class _Unevaluable(Exception):
    pass


class _Parser:
    def __init__(self, text: str, variables: dict[str, int | None]) -> None:
        self.tokens = self._tokenize(text)
        self.pos = 0
        self.depth = 0
        self.variables = variables
        self.used: set[str] = set()

    @staticmethod
    def _tokenize(text: str) -> list[str]:
        tokens: list[str] = []
        for match in _TOKEN.finditer(text):
            token = next(group for group in match.groups() if group is not None)
            tokens.append(token)
        return tokens

    def peek(self) -> str:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else ""

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if not token:
            raise _Unevaluable("unexpected end of formula")
        if expected is not None and token != expected:
            raise _Unevaluable(f"expected '{expected}' but found '{token}'")
        self.pos += 1
        return token

    def parse(self) -> Number:
        value = self.expression()
        if self.peek():
            raise _Unevaluable(f"unexpected '{self.peek()}'")
        return value

    def expression(self) -> Number:
        value = self.term()
        while self.peek() in ("+", "-"):
            operator = self.take()
            right = self.term()
            value = value + right if operator == "+" else value - right
        return value

    def term(self) -> Number:
        value = self.unary()
        while self.peek() in ("*", "/"):
            operator = self.take()
            right = self.unary()
            if operator == "*":
                value = _truncate(Fraction(value) * Fraction(right))
            elif right == 0:
                raise _Unevaluable("division by zero")
            else:
                value = _truncate(Fraction(value) / Fraction(right))
        return value

    def unary(self) -> Number:
        if self.peek() == "-":
            self.take()
            return -self.unary()
        return self.primary()

    def primary(self) -> Number:
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise _Unevaluable("formula nested too deeply")
        try:
            return self._primary()
        finally:
            self.depth -= 1

    def _primary(self) -> Number:
        token = self.take()
        if token.isdigit():
            return int(token)
        if token in ("(", "{"):
            value = self.expression()
            self.take(")" if token == "(" else "}")
            return value
        if token.upper() in _FUNCTIONS and self.peek() == "(":
            return self.function(token.upper())
        if token in self.variables:
            self.used.add(token)
            known = self.variables[token]
            if known is None:
                raise _Unevaluable(f"depends on {token}, which is not known")
            return known
        if token in _UNKNOWN_VARIABLES:
            self.used.add(token)
            raise _Unevaluable(f"depends on {token}, which is not known")
        raise _Unevaluable(f"unknown name '{token}'")

    def function(self, name: str) -> Number:
        self.take("(")
        arguments = [self.expression()]
        while self.peek() == ",":
            self.take()
            arguments.append(self.expression())
        self.take(")")
        if name == "LOG":
            if len(arguments) != 1:
                raise _Unevaluable("log() takes one argument")
            if arguments[0] <= 0:
                raise _Unevaluable("log() of a value <= 0")
            return math.log2(arguments[0])
        if name == "LEAST":
            return min(arguments)
        if name == "GREATEST":
            return max(arguments)
        return sum(arguments)


def _truncate(value: Fraction) -> int:
    return math.trunc(value)


def _variables_in(text: str) -> tuple[str, ...]:
    names = {token for token in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text)
             if token in (MEMORY, VCPU, *_UNKNOWN_VARIABLES)}
    return tuple(sorted(names))


def evaluate(text: str, *, memory_bytes: int | None = None, vcpu: int | None = None,
             memory_note: str = "") -> Evaluation:
    """Evaluate `text` with DBInstanceClassMemory = `memory_bytes`, DBInstanceVCPU = `vcpu`."""
    stripped = text.strip()
    variables = _variables_in(stripped)
    used_memory = memory_bytes if MEMORY in variables else None
    note = memory_note if MEMORY in variables else ""
    if re.fullmatch(r"-?\d+", stripped):
        return Evaluation(int(stripped), "", False, (), None, "")
    if not stripped:
        return Evaluation(None, "empty value", False, (), None, "")
    if len(stripped) > _MAX_LENGTH:
        return Evaluation(None, f"value longer than {_MAX_LENGTH} characters", True, variables,
                          None, "")
    parser = _Parser(stripped, {MEMORY: memory_bytes, VCPU: vcpu})
    try:
        value = parser.parse()
    except _Unevaluable as error:
        shown = stripped if len(stripped) <= 80 else stripped[:77] + "..."
        return Evaluation(None, f"cannot evaluate '{shown}': {error}", True, variables,
                          used_memory, note)
    return Evaluation(math.trunc(value), "", True, variables, used_memory, note)
