"""What an adapter is given besides its parsed inputs: the run's settings, the model it adds
to, the Terraform roots (an ini or YAML file belongs to the nearest root enclosing it), and the
deploying units the platform adapters found, for the adapter that ties application
configuration to them."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from connbudget.model import Client, Model, Origin
from connbudget.settings import Settings

if TYPE_CHECKING:
    from connbudget.providers.apps.env import EnvVar


@dataclass(frozen=True)
class Runs:
    """One container of a deploying unit, as its file describes it: its environment (a name
    absent is unset, unless `env_complete` is False: then some variables come from where the
    files do not say, an env_file or a Secret), its command line, its image and the repository
    directories it runs (a compose build context, the host directory its working_dir mounts)."""

    name: str
    env: dict[str, EnvVar]
    command: tuple[str, ...]
    origin: Origin
    image: str = ""
    directories: tuple[str, ...] = ()
    env_complete: bool = True


@dataclass
class Unit:
    """A deploying unit (a compose service, a Kubernetes workload, an ECS service) that runs
    something other than PostgreSQL or PgBouncer: `client` is what its environment alone says
    (in the model's clients when `talks`, its environment naming PostgreSQL), `containers` what
    it runs."""

    client: Client
    containers: tuple[Runs, ...]
    talks: bool


@dataclass
class BuildContext:
    settings: Settings
    model: Model = field(default_factory=Model)
    roots: list[str] = field(default_factory=list)
    units: list[Unit] = field(default_factory=list)


def enclosing_root(path: str, roots: list[str]) -> str:
    """The nearest of `roots` (directories) that holds `path`; "" when none does."""
    return _enclosing(path, tuple(roots), os.getcwd())


@functools.lru_cache(maxsize=65536)
def _enclosing(path: str, roots: tuple[str, ...], cwd: str) -> str:
    directory = os.path.dirname(os.path.normpath(os.path.join(cwd, path)))
    best, longest = "", -1
    for root in roots:
        absolute = os.path.normpath(os.path.join(cwd, root))
        inside = directory == absolute or directory.startswith(absolute.rstrip(os.sep) + os.sep)
        if inside and len(absolute) > longest:
            best, longest = root, len(absolute)
    return best
