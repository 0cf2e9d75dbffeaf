from __future__ import annotations

import csv

import pytest
from conftest import SHARED

import connbudget.providers.aws.data as awsdata

DATA = SHARED / "data"


def _shared_rows(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_packaged_csvs_are_byte_copies_of_the_reference_data() -> None:
    for name in (awsdata.INSTANCE_CLASSES_CSV, awsdata.OBSERVED_CSV, awsdata.SERVERLESS_V2_CSV):
        packaged = (awsdata.DATA / name).read_bytes()
        assert packaged == (DATA / name).read_bytes(), name


def test_every_instance_class_row_loads() -> None:
    rows = _shared_rows(awsdata.INSTANCE_CLASSES_CSV)
    loaded = {c.name: c for c in awsdata.instance_classes()}
    assert len(rows) == len(loaded) == 202
    for row in rows:
        found = awsdata.instance_class(row["instance_class"])
        assert found is not None
        assert found.memory_gib == float(row["memory_gib"])
        assert found.nominal_max_connections == int(row["nominal_pg_max_connections_upper_bound"])


def test_nominal_upper_bound_is_the_default_formula_on_nominal_memory() -> None:
    for found in awsdata.instance_classes():
        assert found.nominal_max_connections == min(found.memory_bytes // 9531392, 5000)


def test_instance_class_source_names_file_and_row() -> None:
    found = awsdata.instance_class("db.t3.medium")
    assert found is not None
    lines = (DATA / awsdata.INSTANCE_CLASSES_CSV).read_text().splitlines()
    assert lines[found.row - 1].startswith("db.t3.medium,2,4,450,")
    assert found.source.startswith(f"rds_instance_classes.csv:{found.row} ")


def test_vcpu_without_an_exact_figure_is_none() -> None:
    found = awsdata.instance_class("db.x2iezn.12xlarge")
    assert found is not None and found.vcpu is None


def test_unknown_instance_class_is_none() -> None:
    assert awsdata.instance_class("db.m7i.large") is None
    assert awsdata.memory_bytes("db.r8g.xlarge") is None


def test_memory_bytes_is_nominal_gib_in_bytes() -> None:
    assert awsdata.memory_bytes("db.t3.medium") == 4 * 1024**3
    assert awsdata.memory_bytes("db.m1.small") == int(1.7 * 1024**3)


def test_every_observed_row_loads_with_its_source() -> None:
    for row in _shared_rows(awsdata.OBSERVED_CSV):
        found = awsdata.observed_default_max_connections(row["engine"], row["instance_class"])
        assert found is not None
        assert found.value == int(row["observed_max_connections"])
        assert row["source"] in found.source


def test_observed_default_is_per_engine() -> None:
    aurora = awsdata.observed_default_max_connections("aurora-postgresql", "db.t3.medium")
    assert aurora is not None and aurora.value == 420
    assert awsdata.observed_default_max_connections("postgres", "db.t3.medium") is None


@pytest.mark.parametrize("row", _shared_rows(awsdata.SERVERLESS_V2_CSV), ids=lambda r: r["max_acu"])
def test_serverless_v2_row_at_its_max_acu(row: dict[str, str]) -> None:
    found = awsdata.serverless_v2_max_connections(float(row["max_acu"]), 1)
    assert found is not None
    assert found.value == int(row["aurora_postgresql_default_max_connections"])
    assert not found.capped


def test_serverless_v2_between_rows_uses_the_largest_row_below() -> None:
    found = awsdata.serverless_v2_max_connections(12, 2)
    assert found is not None
    assert (found.row_max_acu, found.value) == (8, 1669)


def test_serverless_v2_low_minimum_acu_caps_at_2000() -> None:
    for minimum in (0, 0.5):
        found = awsdata.serverless_v2_max_connections(16, minimum)
        assert found is not None
        assert (found.table_value, found.value, found.capped) == (3360, 2000, True)
        assert "capped at 2000" in found.source


def test_serverless_v2_cap_leaves_smaller_values_alone() -> None:
    found = awsdata.serverless_v2_max_connections(8, 0.5)
    assert found is not None
    assert (found.value, found.capped) == (1669, False)


def test_serverless_v2_below_the_first_row_is_unknown() -> None:
    assert awsdata.serverless_v2_max_connections(0.5, 0.5) is None
