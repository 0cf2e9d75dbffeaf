"""The Terraform front end: HCL files into evaluated resources, module calls and unknowns."""

from __future__ import annotations

from connbudget.terraform.decode import decode_json
from connbudget.terraform.loader import load_terraform
from connbudget.terraform.model import ModuleCall, Resource, TerraformModel, Unknown

__all__ = ["ModuleCall", "Resource", "TerraformModel", "Unknown", "decode_json",
           "load_terraform"]
