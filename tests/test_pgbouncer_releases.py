"""PgBouncer 1.18-1.25 as each release's source decides, for what connbudget cannot start here.

PgBouncer 1.18 is proven live (tests/test_pgbouncer_live.py); newer releases cannot be built in
the tests, so these follow the behaviours table, whose every row cites the line of PgBouncer's
source that decides it (providers/pgbouncer/data/behaviours.csv):

- pool_size 0: src/objects.c launch_new_connection refuses a new server connection once one
  is up and `max >= pool_pool_size(pool)` through 1.23 (1.23.1 :1851; reserve_pool_size aside,
  :1856-1864); from 1.24 the check runs only when `pool_pool_size(pool) > 0` (1.24.1 :1900);
- min_pool_size: src/janitor.c check_pool_size fills a pool to min_pool_size, never above
  pool_size, when it has a client or, from 1.21, a forced user (1.21.0 :518);
- max_db_client_connections / max_user_client_connections from 1.24 (src/main.c 1.24.1 :284,
  :288), max_prepared_statements from 1.21 (0 in 1.21-1.23, 200 from 1.24: src/main.c 1.23.1
  :277, 1.24.1 :286), [peers] and peer_id from 1.19 (src/main.c 1.19.1 :273).
"""

from __future__ import annotations

import pytest
from conftest import FIXTURES, run_cli

from connbudget.frontends.pgbouncer.ini import load_pgbouncer
from connbudget.providers.pgbouncer.pools import Demand, worst_case_server_connections
from connbudget.providers.pgbouncer.tables import behaviour

HERE = FIXTURES / "pgbouncer" / "releases"
THROUGH_1_23 = ["1.18", "1.19", "1.20", "1.21", "1.22", "1.23"]
FROM_1_24 = ["1.24", "1.25"]


def _worst(name: str, release: str, users: list[str], databases: list[str] | None = None,
           demand: Demand | None = None) -> int | None:
    config = load_pgbouncer(str(HERE / name), release)
    assert config.errors == []
    return worst_case_server_connections(config, users, databases, demand=demand).total


@pytest.mark.parametrize("release", THROUGH_1_23)
def test_pool_size_0_keeps_one_server_connection_per_pool_through_1_23(release: str) -> None:
    assert _worst("pool-zero.ini", release, ["web", "batch"]) == 2
    # the reserve pool still opens when a client waits past reserve_pool_timeout
    assert _worst("pool-zero-reserve.ini", release, ["web"]) == 3


@pytest.mark.parametrize("release", FROM_1_24)
def test_pool_size_0_has_no_limit_from_1_24_and_its_clients_bound_it(release: str) -> None:
    # each pool opens a server connection per waiting client: max_client_conn at most
    assert _worst("pool-zero.ini", release, ["web", "batch"]) == 300
    # and no more than the client connections behind it, when every client is known
    demand = Demand((("app", "web", 40), ("app", "batch", 6)))
    assert _worst("pool-zero.ini", release, ["web", "batch"], demand=demand) == 46


def test_client_caps_and_max_db_connections_bound_a_pool_of_no_limit() -> None:
    # app: web and batch each at most max_db_client_connections 30, batch at most its
    # max_user_client_connections 8; reports: max_db_connections 12 over both pools
    assert _worst("pool-zero-capped.ini", "1.24", ["web", "batch"]) == 30 + 8 + 12


def test_an_unknown_max_client_conn_leaves_a_pool_of_no_limit_unbounded_and_says_why() -> None:
    config = load_pgbouncer(str(HERE / "pool-zero.ini.j2"), "1.24")
    worst = worst_case_server_connections(config, ["web"])
    assert worst.total is None and worst.unbounded
    assert "pool_size 0 has no limit per pool from PgBouncer 1.24" in worst.unknown[0]
    assert "src/objects.c:1900" in worst.unknown[0]
    assert "max_db_connections" in worst.bound_by


@pytest.mark.parametrize(("release", "kept"), [("1.20", 0), ("1.21", 5), ("1.25", 5)])
def test_min_pool_size_of_a_forced_user_counts_without_clients_from_1_21(
        release: str, kept: int) -> None:
    # the clients ask for app only; reports keeps min_pool_size 5 open from 1.21 on
    assert _worst("forced-min-pool.ini", release, ["web"], ["app"]) == 20 + kept


def test_min_pool_size_keeps_what_it_keeps_even_with_fewer_clients() -> None:
    demand = Demand((("reports", "web", 2),))
    # two clients, but min_pool_size keeps 5 of the pool of 10
    assert _worst("forced-min-pool.ini", "1.18", ["web"], ["reports"], demand) == 5


@pytest.mark.parametrize(("release", "default"), [
    ("1.20", None), ("1.21", 0), ("1.23", 0), ("1.24", 200), ("1.25", 200)])
def test_max_prepared_statements_defaults_per_release(release: str,
                                                      default: int | None) -> None:
    config = load_pgbouncer(str(HERE / "pool-zero.ini"), release)
    found = config.integer("max_prepared_statements")
    assert found.value == default
    if default is not None:
        row = behaviour("max_prepared_statements", release)
        assert row is not None and row.cite.source in found.source


def test_client_caps_are_refused_before_1_24() -> None:
    assert load_pgbouncer(str(HERE / "client-caps.ini"), "1.24").errors == []
    [error] = load_pgbouncer(str(HERE / "client-caps.ini"), "1.23").errors
    assert error.message == ("PgBouncer 1.23 refuses to start: unknown key "
                             "'max_db_client_connections' in [pgbouncer]")


def test_peers_are_read_from_1_19_and_name_the_processes_a_port_is_shared_by() -> None:
    peers = FIXTURES / "pgbouncer" / "peers"
    config = load_pgbouncer(str(peers / "pgbouncer.ini"), "1.19")
    assert config.errors == [] and sorted(config.peers) == ["1", "2", "3"]
    assert [e.message for e in load_pgbouncer(str(peers / "pgbouncer.ini"), "1.18").errors] == [
        "PgBouncer 1.18 refuses to start: unknown key 'peer_id' in [pgbouncer]",
        "PgBouncer 1.18 refuses to start: invalid section [peers]"]
    report = run_cli("capacity", str(peers), "--format", "json").json()
    assert isinstance(report, dict)
    [finding] = [f for f in report["findings"] if f["rule_id"] == "CB103"]
    assert "lists 3 peered PgBouncer processes" in finding["message"]
    assert "processes = " in finding["fix"]


def test_pool_size_0_on_a_1_24_image_and_on_a_1_23_image_are_two_true_results() -> None:
    """The same compose stack, 40 client connections through PgBouncer with default_pool_size
    0 to a PostgreSQL of 30 connections: 1.24 opens one server connection per client (40 >
    27 usable, CB104); 1.23 keeps one and its clients queue (CB113). Neither is "0, ok"."""
    results = {}
    for release in ("1-24", "1-23"):
        report = run_cli("capacity", f"fixtures/capacity/pgbouncer-pool-zero-{release}",
                         "--format", "json")
        assert report.code == 1
        results[release] = report.json()
    newer, older = results["1-24"], results["1-23"]
    assert isinstance(newer, dict) and isinstance(older, dict)
    assert (newer["budgets"][0]["worst_case"], newer["budgets"][0]["usable"]) == (40, 27)
    [cb104] = newer["findings"]
    assert cb104["rule_id"] == "CB104"
    assert "default_pool_size = 0" in cb104["message"]
    assert "means no limit per pool in PgBouncer 1.24.1" in cb104["message"]
    assert "src/objects.c:1900" in cb104["message"]
    assert older["budgets"][0]["worst_case"] == 1
    [cb113] = older["findings"]
    assert cb113["rule_id"] == "CB113"
    assert "keeps at most one server connection per pool" in cb113["message"]
    assert "src/objects.c:1851" in cb113["message"]
    assert "the 40 client connections behind it take turns on them" in cb113["message"]
    # the fix sizes the pool within the alert threshold of 27 usable slots, on its own line
    assert [(e["line"], e["new"].strip()) for e in cb113["edits"]] == [
        (19, 'DEFAULT_POOL_SIZE: "21"')]


def test_a_configmap_pgbouncer_ini_is_read_as_the_release_of_the_image_that_mounts_it() -> None:
    report = run_cli("capacity", "fixtures/stacks/pgbouncer-configmap", "--format", "json",
                     "--no-cache")
    assert report.code == 1
    from connbudget.frontends.kubernetes.objects import load_kubernetes

    found = load_kubernetes([str(FIXTURES / "stacks" / "pgbouncer-configmap" /
                                 "pgbouncer.yaml")])
    [ini] = [ini for config_map in found.config_maps for ini in config_map.pgbouncer.values()]
    assert (ini.version, ini.version_source) == (
        "1.23", "PgBouncer 1.23.1 (image bitnami/pgbouncer:1.23.1)")
