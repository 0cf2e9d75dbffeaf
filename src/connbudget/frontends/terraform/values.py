"""The values HCL expressions evaluate to, the scope they are evaluated in, and the limits
on both: shared by the evaluator and the functions it calls.

Values are None, bool, int, float, str, list, dict or `Unknown`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from connbudget.frontends.terraform.model import Unknown

# Limits on what one configuration can make the evaluator build or do (README, "Running on
# untrusted pull requests"): past them a value is unknown, never a hang or gigabytes.
MAX_ITEMS = 10_000  # elements of one list or map
MAX_STRING = 4 * 1024 * 1024  # characters of one string (file() reads at most this much)
MAX_STEPS = 2_000_000  # expression nodes evaluated and values walked in one load
MAX_NUMBER = 2**63  # magnitude of a number; Terraform's own are arbitrary precision


class EvalError(ValueError):
    pass


class LimitError(EvalError):
    """An evaluation past one of the limits: the value is unknown and the input is told."""


class StepBudget:
    """The evaluation steps left for one load (shared by every module of it)."""

    def __init__(self, steps: int = MAX_STEPS) -> None:
        self.left = steps
        self.exhausted = False

    def spend(self, steps: int = 1) -> None:
        self.left -= steps
        if self.left < 0:
            self.exhausted = True
            raise LimitError(f"evaluation needs more than {MAX_STEPS:,} steps")


_UNLIMITED = StepBudget(2**62)
_budget = _UNLIMITED


def set_budget(budget: StepBudget | None) -> None:
    """Charge evaluation to `budget` from now on (None: no budget, for single expressions)."""
    global _budget
    _budget = budget if budget is not None else _UNLIMITED


def spend(steps: int = 1) -> None:
    _budget.spend(steps)


def budget_exhausted() -> bool:
    """Whether the current budget ran out (reported once, by the load)."""
    return _budget.exhausted


def check_size(value: Any) -> Any:
    """`value`, or an EvalError when it is longer than the limits allow."""
    if isinstance(value, str):
        if len(value) > MAX_STRING:
            raise LimitError(f"a string longer than {MAX_STRING:,} characters")
    elif isinstance(value, (list, dict)):
        if len(value) > MAX_ITEMS:
            raise LimitError(f"a collection of more than {MAX_ITEMS:,} elements")
        spend(len(value))
    elif isinstance(value, float):
        if value != value or abs(value) >= MAX_NUMBER:
            raise LimitError("a number too large to use")
    elif isinstance(value, int) and not isinstance(value, bool) and abs(value) >= MAX_NUMBER:
        raise LimitError("a number too large to use")
    return value



class Context:
    """What a module offers to its expressions. This base knows no variables or locals."""

    prefix = ""  # "module.db." inside a module
    directory = "."
    root_directory = "."

    def var(self, name: str, text: str) -> Any:
        return Unknown(text, f"variable {name} is not available here")

    def local(self, name: str, text: str) -> Any:
        return Unknown(text, f"local {name} is not available here")

    def module_value(self, name: str, text: str) -> Any:
        return Unknown(text, f"reference to module.{name}", (f"{self.prefix}module.{name}",))

    def note(self, text: str, message: str) -> None:
        """Something about `text` the user must hear: a refused file, a limit reached."""

    def function(self, name: str) -> Function | None:
        """A function of this configuration language beyond Terraform's (Terragrunt's)."""
        return None

    def named(self, root: str) -> Any:
        """The value of a name of this configuration language (Terragrunt's `include`); None
        for a name it does not give."""
        return None


@dataclass
class Scope:
    context: Context
    bindings: dict[str, Any] = field(default_factory=dict)
    template: bool = False  # templatefile(): only its own variables are visible
    depth: int = 0

    def bind(self, **names: Any) -> Scope:
        return Scope(self.context, {**self.bindings, **names}, self.template, self.depth)


def contains_unknown(value: Any) -> bool:
    spend()
    if isinstance(value, Unknown):
        return True
    if isinstance(value, list):
        return any(contains_unknown(item) for item in value)
    if isinstance(value, dict):
        return any(contains_unknown(item) for item in value.values())
    return False


def unknowns(value: Any) -> Iterator[Unknown]:
    spend()
    if isinstance(value, Unknown):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from unknowns(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from unknowns(item)


def merge_unknown(text: str, values: list[Any]) -> Unknown:
    """One unknown for `text` built from the unknowns found in `values`."""
    found = [u for value in values for u in unknowns(value)]
    references: dict[str, None] = {}
    for u in found:
        references.update(dict.fromkeys(u.references))
    reason = found[0].reason if found else "unknown value"
    return Unknown(text, reason, tuple(references))


def placeholder(value: Unknown) -> str:
    """How an unknown appears inside a partially known string."""
    return value.partial if value.partial is not None else "${" + value.expression + "}"


def atoms(value: Unknown) -> tuple[Unknown, ...]:
    return value.parts if value.partial is not None else (value,)


def normalise_number(value: float | int) -> float | int:
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def to_number(value: Any) -> int | float:
    if isinstance(value, bool) or value is None:
        raise EvalError(f"a number is required, not {type_name(value)}")
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        try:
            return normalise_number(float(value)) if any(c in value for c in ".eE") \
                else int(value)
        except ValueError:
            raise EvalError("a number is required, not a non-numeric string") from None
    raise EvalError(f"a number is required, not {type_name(value)}")


def to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return bool(value == "true")
    raise EvalError(f"a bool is required, not {type_name(value)}")


def to_string(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(normalise_number(value))
    raise EvalError(f"a string is required, not {type_name(value)}")


def type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "object"
    return "unknown"


Function = Callable[[list[Any], Scope, str], Any]
