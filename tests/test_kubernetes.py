from __future__ import annotations

import time
from pathlib import Path

import pytest
from conftest import CORPUS, FIXTURES
from hypothesis import given, settings
from hypothesis import strategies as st

from connbudget.frontends.kubernetes.model import (
    Container,
    ContainerEnv,
    KubernetesInputs,
    Workload,
)
from connbudget.frontends.kubernetes.objects import load_kubernetes
from connbudget.frontends.kubernetes.safeyaml import HELM_HINT, read_documents
from connbudget.providers.surge import extra_units

HERE = FIXTURES / "k8s"
CORPUS_YAML = sorted((CORPUS / "k8s").rglob("*.yaml"))


def _load(*names: str) -> KubernetesInputs:
    return load_kubernetes([str(HERE / name) for name in names])


def _line_of(path: Path, text: str, after: int = 0) -> int:
    lines = path.read_text().splitlines()
    return next(n for n, line in enumerate(lines, 1) if n > after and text in line)


def _env(container: Container) -> dict[str, str | None]:
    """Name -> value as the container sees it (a later definition wins)."""
    return {var.name: var.value for var in container.env}


def _var(container: Container, name: str) -> ContainerEnv | None:
    return next((var for var in reversed(container.env) if var.name == name), None)


def _workload(found: KubernetesInputs, name: str) -> Workload:
    return next(w for w in found.workloads if w.name == name)


@pytest.mark.parametrize("path", CORPUS_YAML, ids=lambda p: str(p.relative_to(CORPUS)))
def test_corpus_yaml_loads_or_gives_a_located_error(path: Path) -> None:
    found = load_kubernetes([str(path)])
    for error in found.errors:
        assert error.file == str(path) and error.line > 0


def test_helm_templates_are_reported_with_the_render_hint() -> None:
    path = CORPUS / "k8s" / "openfga-helm-chart" / "templates" / "hpa.yaml"
    found = load_kubernetes([str(path)])
    assert [(e.line, e.message) for e in found.errors] == [(1, HELM_HINT)]
    assert found.workloads == [] and found.autoscalers == []


def test_helm_values_file_is_yaml_and_ignored() -> None:
    found = load_kubernetes([str(CORPUS / "k8s" / "openfga-helm-chart" / "values.yaml")])
    assert found.errors == []
    assert found.workloads == []


def test_multi_document_file_gives_deployment_hpa_and_config_map() -> None:
    found = _load("app.yaml")
    assert found.errors == []
    assert [(w.kind, w.name, w.namespace, w.replicas) for w in found.workloads] == [
        ("Deployment", "api", "shop", 3)]
    assert [c.name for c in found.config_maps] == ["api-config"]
    hpa = found.autoscalers[0]
    assert (hpa.kind, hpa.target_kind, hpa.target_name) == (
        "HorizontalPodAutoscaler", "Deployment", "api")
    assert (hpa.min_replicas, hpa.max_replicas, hpa.max_is_default) == (3, 30, False)


def test_line_numbers_point_at_the_source() -> None:
    path = HERE / "app.yaml"
    found = _load("app.yaml")
    api = _workload(found, "api")
    assert api.line == _line_of(path, "kind: Deployment") - 1
    assert api.replicas_line == _line_of(path, "replicas: 3")
    assert api.max_surge.line == _line_of(path, "maxSurge: 2")
    web = api.containers[0]
    assert web.line == _line_of(path, "- name: web")
    assert found.autoscalers[0].max_line == _line_of(path, "maxReplicas: 30")


def test_env_values_and_env_from_config_map() -> None:
    path = HERE / "app.yaml"
    web = _workload(_load("app.yaml"), "api").containers[0]
    assert (web.name, web.image) == ("web", "registry.example.com/shop/api:1.4.2")
    values = _env(web)
    # env wins over envFrom, as in Kubernetes
    assert values["DB_POOL_SIZE"] == "8"
    assert values["WEB_CONCURRENCY"] == "4"
    concurrency = _var(web, "WEB_CONCURRENCY")
    assert concurrency is not None
    assert (concurrency.source, concurrency.line) == ("envFrom configMap api-config",
                                                       _line_of(path, "WEB_CONCURRENCY"))
    assert web.args == ("app:wsgi", "--workers", "4")


def test_config_map_key_ref_is_resolved() -> None:
    web = _workload(_load("app.yaml"), "api").containers[0]
    var = _var(web, "DATABASE_NAME")
    assert var is not None
    assert var.value == "orders-db.cluster-abc.eu-west-1.rds.amazonaws.com"
    assert var.source == "configMapKeyRef"


def test_secret_key_ref_is_marked_and_never_read() -> None:
    found = _load("app.yaml")
    var = _var(_workload(found, "api").containers[0], "DATABASE_PASSWORD")
    assert var is not None
    assert (var.value, var.secret, var.reference) == (None, True, "secret api-db key password")
    assert "never-printed-secret" not in repr(found)


def test_field_ref_is_unknown_not_secret() -> None:
    var = _var(_workload(_load("app.yaml"), "api").containers[0], "POD_IP")
    assert var is not None
    assert (var.value, var.secret, var.source) == (None, False, "fieldRef")


def test_env_from_config_map_in_another_file_with_prefix() -> None:
    worker = _workload(_load("keda-worker.yaml", "worker-settings.yaml"), "worker")
    container = worker.containers[0]
    assert _env(container)["APP_POOL_SIZE"] == "6"
    assert container.unresolved == ()


def test_missing_config_map_is_listed_as_unresolved() -> None:
    container = _workload(_load("keda-worker.yaml"), "worker").containers[0]
    assert container.unresolved == ("configMap worker-settings",)
    assert "APP_POOL_SIZE" not in _env(container)


def test_keda_scaled_object() -> None:
    found = _load("keda-worker.yaml")
    queue, defaults = found.autoscalers
    assert (queue.kind, queue.target_kind, queue.target_name) == (
        "ScaledObject", "Deployment", "worker")
    assert (queue.min_replicas, queue.max_replicas, queue.max_is_default) == (1, 40, False)
    assert (defaults.min_replicas, defaults.max_replicas, defaults.max_is_default) == (
        0, 100, True)


def test_absent_replicas_is_none() -> None:
    assert _workload(_load("keda-worker.yaml"), "worker").replicas is None


def test_max_surge_integer() -> None:
    surge = _workload(_load("app.yaml"), "api").max_surge
    assert (surge.value, surge.is_default, extra_units(3, surge.value)) == (2, False, 2)


def test_max_surge_percent_rounds_up() -> None:
    found = _load("strategies.yaml")
    surge = _workload(found, "percent").max_surge
    assert (surge.value, surge.is_default) == ("50%", False)
    assert extra_units(10, surge.value) == 5
    assert extra_units(3, surge.value) == 2


def test_max_surge_absent_is_the_kubernetes_default() -> None:
    surge = _workload(_load("keda-worker.yaml"), "worker").max_surge
    assert (surge.value, surge.is_default) == ("25%", True)
    assert extra_units(30, surge.value) == 8


def test_recreate_and_stateful_set_do_not_surge() -> None:
    found = _load("strategies.yaml")
    assert extra_units(4, _workload(found, "recreate").max_surge.value) == 0
    queue = _workload(found, "queue")
    assert (queue.kind, queue.replicas) == ("StatefulSet", 3)
    assert extra_units(3, queue.max_surge.value) == 0


def test_yaml_merge_keys() -> None:
    found = _load("merge-keys.yaml")
    sidecar = _workload(found, "merged").containers[1]
    assert (sidecar.name, sidecar.image, _env(sidecar)) == (
        "sidecar", "web:1", {"POOL_SIZE": "5"})


def test_alias_bomb_is_refused_fast() -> None:
    started = time.perf_counter()
    found = _load("billion-laughs.yaml")
    assert time.perf_counter() - started < 2
    assert len(found.errors) == 1
    assert "aliases expand to more than" in found.errors[0].message
    assert found.errors[0].line > 0


def test_deep_block_nesting_is_refused() -> None:
    found = _load("deep-block.yaml")
    assert len(found.errors) == 1 and "nested deeper than" in found.errors[0].message


def test_deep_flow_nesting_is_refused_before_parsing() -> None:
    started = time.perf_counter()
    found = _load("deep-flow.yaml")
    assert time.perf_counter() - started < 2
    assert len(found.errors) == 1 and "flow collections nested deeper" in found.errors[0].message


def test_invalid_yaml_is_a_located_error() -> None:
    path = HERE / "invalid.yaml"
    found = _load("invalid.yaml")
    assert len(found.errors) == 1
    error = found.errors[0]
    assert error.file == str(path) and error.message.startswith("invalid YAML")
    assert error.line >= _line_of(path, "template: [unclosed")


def test_non_kubernetes_yaml_is_ignored() -> None:
    found = _load("compose.yaml")
    assert (found.errors, found.workloads, found.config_maps) == ([], [], [])


def test_missing_file_is_an_error_and_others_still_load() -> None:
    found = _load("no-such.yaml", "strategies.yaml")
    assert len(found.errors) == 1 and found.errors[0].file.endswith("no-such.yaml")
    assert len(found.workloads) == 3


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="abc:-[]{}&*!|>'\"\n #%<", max_size=200))
def test_any_text_gives_documents_or_located_errors(text: str) -> None:
    _, errors = read_documents(text, "fuzz.yaml")
    assert all(error.line >= 0 for error in errors)
