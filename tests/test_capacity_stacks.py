"""Real stacks: several Terraform roots, operators, ConfigMaps, charts and bundles."""

from __future__ import annotations

import json
import resource
import shutil
import time
from pathlib import Path
from typing import Any

from conftest import CORPUS, FIXTURES, run_cli

_CRD = """\
---
# Source: vendored operator bundle
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets{n}.example.io
spec:
  group: example.io
  names:
    kind: Widget{n}
    plural: widgets{n}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
{properties}
"""
_PROPERTY = """\
          field{i}:
            description: "A setting of the widget; its value decides how the operator
              reconciles the resource (see the operator's documentation, section {i})."
            type: object
            properties:
              replicas: {{type: integer, minimum: 0}}
              image: {{type: string}}
              parameters: {{type: object, additionalProperties: {{type: string}}}}
"""


def _crd_bundle(directory: Path, files: int, per_file: int) -> int:
    """A vendored bundle of CRDs (as CloudNativePG ships in releases/); its size in bytes."""
    directory.mkdir(parents=True)
    properties = "".join(_PROPERTY.format(i=i) for i in range(60))
    size = 0
    for number in range(files):
        text = "".join(_CRD.format(n=number * per_file + k, properties=properties)
                       for k in range(per_file))
        (directory / f"operator-1.{number}.0.yaml").write_text(text)
        size += len(text)
    return size


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _json(*args: str) -> tuple[int, dict[str, Any]]:
    result = run_cli(*args, "--format", "json", timeout=300)
    data = json.loads(result.out)
    assert isinstance(data, dict)
    return result.code, data


def test_vendored_crd_bundle_and_helm_chart_scan_in_seconds_and_the_chart_is_one_note(
        tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    size = _crd_bundle(repo / "releases", files=40, per_file=45)
    assert size > 40 * 1024 * 1024
    shutil.copytree(CORPUS / "k8s" / "openfga-helm-chart", repo / "charts" / "openfga")
    shutil.copy(FIXTURES / "k8s" / "app.yaml", repo / "app.yaml")
    started, cpu = time.monotonic(), _child_cpu()
    code, report = _json("scan", str(repo))
    elapsed, cpu = time.monotonic() - started, _child_cpu() - cpu
    assert code in (0, 1)
    assert report["errors"] == []
    notes = [f for f in report["findings"] if f["rule_id"] == "CB110"]
    assert [(n["resource"], Path(n["file"]).name) for n in notes] == [
        ("helm chart openfga", "Chart.yaml")]
    assert "helm template" in notes[0]["fix"]
    # CPU time, as the machine may be shared; the wall clock bounds a hang
    assert cpu < 8, f"{cpu:.1f} s CPU for {size // 1024 // 1024} MiB"
    assert elapsed < 120
