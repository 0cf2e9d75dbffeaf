"""What an adapter is given besides its parsed inputs: the run's settings, the model it adds
to, and the Terraform roots (an ini or YAML file belongs to the nearest root enclosing it)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from connbudget.model import Model
from connbudget.settings import Settings


@dataclass
class BuildContext:
    settings: Settings
    model: Model = field(default_factory=Model)
    roots: list[str] = field(default_factory=list)


def enclosing_root(path: str, roots: list[str]) -> str:
    """The nearest of `roots` (directories) that holds `path`; "" when none does."""
    directory = os.path.dirname(os.path.abspath(path))
    best = ""
    for root in roots:
        absolute = os.path.abspath(root)
        inside = directory == absolute or directory.startswith(absolute.rstrip(os.sep) + os.sep)
        if inside and len(absolute) > len(os.path.abspath(best) if best else ""):
            best = root
    return best
