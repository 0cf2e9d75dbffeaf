"""Every real Terraform module in the corpus loads: unknowns and located errors, no exception."""

from __future__ import annotations

import os

import pytest
from conftest import CORPUS

from connbudget.frontends.terraform import load_terraform


def _tf_dirs() -> list[str]:
    found = set()
    for directory, _, names in os.walk(CORPUS / "terraform"):
        if any(name.endswith(".tf") for name in names):
            found.add(directory)
    return sorted(found)


@pytest.mark.parametrize("directory", _tf_dirs(), ids=lambda d: os.path.relpath(d, CORPUS))
def test_corpus_module_loads_without_exception(directory: str) -> None:
    model = load_terraform([directory], [], cache=False)
    assert all(error.file and error.line >= 0 and error.message for error in model.errors)


def test_whole_corpus_loads_as_one_tree() -> None:
    model = load_terraform(_tf_dirs(), [], cache=False)
    assert model.by_type("postgresql_role")
    assert model.by_type("aws_ecs_service") or model.modules
