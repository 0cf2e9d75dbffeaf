"""The Terraform front end: HCL files into evaluated resources, module calls and unknowns."""

from __future__ import annotations

from connbudget.frontends.terraform.decode import decode_json
from connbudget.frontends.terraform.loader import load_terraform
from connbudget.frontends.terraform.model import (
    ModuleCall,
    Parameter,
    Resource,
    TerraformModel,
    Unknown,
    line_of,
    parameters,
)

__all__ = ["ModuleCall", "Parameter", "Resource", "TerraformModel", "Unknown", "decode_json",
           "line_of", "load_terraform", "parameters"]
