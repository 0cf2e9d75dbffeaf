"""The values HCL expressions evaluate to, the scope they are evaluated in, and the limits
on both: shared by the evaluator and the functions it calls.

Values are None, bool, int, float, str, list, dict or `Unknown`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from connbudget.frontends.terraform.expr import Node
from connbudget.frontends.terraform.model import Unknown
from connbudget.passwords import stand_in

# Limits on what one configuration can make the evaluator build or do (README, "Running on
# untrusted pull requests"): past them a value is unknown, never a hang or gigabytes.
MAX_ITEMS = 10_000  # elements of one list or map
MAX_STRING = 4 * 1024 * 1024  # characters of one string (file() reads at most this much)
MAX_NUMBER = 2**63  # magnitude of a number; Terraform's own are arbitrary precision
# One budget per load (a run's Terraform): what all its expressions may do and build together.
MAX_STEPS = 2_000_000  # expression nodes evaluated, values walked, module instances loaded
MAX_CHARACTERS = 64 * 1024 * 1024  # characters of all the strings built
MAX_BUILT_ITEMS = 1_000_000  # elements of all the lists and maps built


class EvalError(ValueError):
    pass


class LimitError(EvalError):
    """An evaluation past one of the limits: the value is unknown and the input is told."""


class Budget:
    """What one load may still do and build (shared by every module of it). Once a limit is
    reached every further evaluation stops at once with the same error."""

    def __init__(self, steps: int = MAX_STEPS, characters: int = MAX_CHARACTERS,
                 items: int = MAX_BUILT_ITEMS) -> None:
        self.steps = steps
        self.characters = characters
        self.items = items
        self.exhausted: str | None = None  # the limit reached
        self.reported = False

    def _stop(self, message: str) -> None:
        self.exhausted = self.exhausted or message
        raise LimitError(self.exhausted)

    def spend(self, steps: int = 1) -> None:
        self.steps -= steps
        if self.steps < 0 or self.exhausted:
            self._stop(f"evaluation needs more than {MAX_STEPS:,} steps")

    def build(self, value: Any) -> None:
        if isinstance(value, str):
            self.characters -= len(value)
            if self.characters < 0:
                self._stop(f"the strings built pass {MAX_CHARACTERS:,} characters in all")
        elif isinstance(value, (list, dict)):
            self.items -= len(value)
            if self.items < 0:
                self._stop(f"the lists and maps built pass {MAX_BUILT_ITEMS:,} elements in all")


_UNLIMITED = Budget(2**62, 2**62, 2**62)
_budget = _UNLIMITED


def set_budget(budget: Budget | None) -> None:
    """Charge evaluation to `budget` from now on (None: no budget, for single expressions)."""
    global _budget
    _budget = budget if budget is not None else _UNLIMITED


def spend(steps: int = 1) -> None:
    _budget.spend(steps)


def built(value: Any) -> Any:
    """`value`, a string or collection just built, charged to the budget."""
    _budget.build(value)
    return value


def note_limit(context: Context, text: str, exc: LimitError) -> None:
    """Tells the input that evaluating `text` reached a limit: every limit of one value, the
    budget's only the first time (every evaluation after it fails the same way)."""
    if _budget.exhausted is None:
        context.note(text, f"{exc}; the value is unknown")
    elif not _budget.reported:
        _budget.reported = True
        context.note(text, f"{exc}; this value and the expressions evaluated after it are unknown")


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



class Sensitive(str):
    """A string of a var-file the run is given (a CI job's secrets), or one computed from one.

    It exists only while one expression is evaluated: what the evaluator hands out
    (`evaluate_raw`) has each sensitive value, and each value computed from one, made an
    `Unknown` that says why, so no name, key, message, edit or cache entry can show it.
    """

    why: str

    def __new__(cls, text: str, why: str) -> Sensitive:
        value = super().__new__(cls, text)
        value.why = why
        return value


class _Marks:
    """How many sensitive values evaluation has met so far: an expression whose evaluation
    moved the count computed its value from one (the caller compares before and after)."""

    seen = 0
    any = False  # whether the load holds a sensitive value at all: else nothing is checked
    why = ""  # where the last one met came from


MARKS = _Marks()


def reset_marks() -> None:
    """A new load: no sensitive value met yet."""
    MARKS.any = False


def touch(why: str) -> None:
    """Count a sensitive value met, from `why`."""
    MARKS.seen += 1
    MARKS.any = True
    MARKS.why = why


def mark(value: Any, why: str) -> Any:
    """`value` with every string in it (map keys included) marked sensitive for `why`; its
    numbers and bools are left as they are (a var-file sizes services with them)."""
    if isinstance(value, str) and not isinstance(value, Sensitive):
        touch(why)
        return Sensitive(value, why)
    if isinstance(value, list):
        return [mark(item, why) for item in value]
    if isinstance(value, dict):
        return {mark(key, why): mark(item, why) for key, item in value.items()}
    return value


def mark_in(value: Any) -> str | None:
    """Where the first sensitive value in `value` came from, None when it holds none (only
    looked for once the load holds one)."""
    if not MARKS.any:
        return None
    if isinstance(value, Sensitive):
        return value.why
    items: list[Any] = []
    if isinstance(value, list):
        items = value
    elif isinstance(value, dict):
        items = [*value.keys(), *value.values()]
    return next((why for why in map(mark_in, items) if why is not None), None)


def derived(value: Any, text: str, deep: bool) -> Any:
    """The result of an expression that read a sensitive value: sensitive itself (a string
    marked, a number or bool unknown); with `deep`, every string and number in a collection
    too (a function may have built them from it: `split(",", var.secret)`)."""
    if isinstance(value, str):
        return value if isinstance(value, Sensitive) else Sensitive(value, MARKS.why)
    if isinstance(value, (bool, int, float)):
        return Unknown(text, f"computed from a sensitive value ({MARKS.why})")
    if deep and isinstance(value, list):
        return [derived(item, text, deep) for item in value]
    if deep and isinstance(value, dict):
        return {derived(key, text, deep): derived(item, text, deep)
                for key, item in value.items()}
    return value


def concealed(value: Any, why: str, text: str) -> Any:
    """`value` as the evaluator holds a secret the code gives it (a `sensitive` variable's
    value, a value under a key that names a secret): each string a stand-in of the same kind
    (rules judge a password's kind, never its text), each number or bool unknown. A value
    from a var-file stays marked."""
    if isinstance(value, (Sensitive, Unknown)) or value is None:
        return value
    if isinstance(value, str):
        return stand_in(value)
    if isinstance(value, list):
        return [concealed(item, why, text) for item in value]
    if isinstance(value, dict):
        return {key: concealed(item, why, text) for key, item in value.items()}
    return Unknown(text, f"a sensitive value ({why})")


def secret_value(value: Any, key: str, text: str) -> Any:
    """The value found under a key that names a secret (`password`, `api_key`), concealed; a
    map in it is left to its own keys (`secrets = [{name, valueFrom}]` in a container
    definition is not a secret, and neither is its `name`)."""
    if isinstance(value, dict):
        return value
    if isinstance(value, list):
        return [secret_value(item, key, text) for item in value]
    return concealed(value, f"under the key {key}", text)


def unmarked(value: Any, text: str) -> Any:
    """What may leave the evaluator of `value`: each sensitive part an `Unknown` for `text`,
    a map with a sensitive key wholly unknown. (A partial string never holds the text of a
    sensitive value: templates and `jsonencode` leave it out as an unknown part.)"""
    if isinstance(value, Sensitive):
        return Unknown(text, f"a sensitive value ({value.why})")
    if isinstance(value, list):
        return [unmarked(item, text) for item in value]
    if isinstance(value, dict):
        secret = next((key for key in value if isinstance(key, Sensitive)), None)
        if secret is not None:
            return Unknown(text, f"a map keyed by a sensitive value ({secret.why})")
        return {key: unmarked(item, text) for key, item in value.items()}
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

    def note_at(self, file: str, line: int, message: str) -> None:
        """The same, at a known place."""

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
    source: str = ""  # the text whose expression trees are evaluated (nodes hold offsets)

    def bind(self, **names: Any) -> Scope:
        return Scope(self.context, {**self.bindings, **names}, self.template, self.depth,
                     self.source)

    def text(self, node: Node) -> str:
        """The source text of `node`."""
        return self.source[node[-2]:node[-1]]


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
