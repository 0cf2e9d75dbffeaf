"""A real PgBouncer in front of a real PostgreSQL, driven by more clients than it has pool slots.

PgBouncer refuses to run as root, so under root it runs as the `postgres` OS user, like the
server (tests/pg.py). It listens on a unix socket in its own directory, or on a free loopback
port when a scenario needs TCP (so_reuseport). Clients are asyncpg connections that each hold a
server connection (an open transaction) until no new server connection has opened for a moment;
the peak of server connections is read from pg_stat_activity while they run.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
from pg import SUPERUSER, Server

PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
PGBOUNCER_PORT = 6432  # only names the socket file unless a scenario listens on loopback


def _start_as_postgres(argv: Sequence[str], **options: Any) -> subprocess.Popen[bytes]:
    """Start `argv` as the server user when running as root (PgBouncer refuses root). The
    process is PgBouncer itself, not `runuser`, which waits 2 s after passing a SIGTERM on."""
    if os.geteuid() == 0:
        owner = pwd.getpwnam(SUPERUSER)
        options.update(user=owner.pw_uid, group=owner.pw_gid, extra_groups=[])
    return subprocess.Popen(list(argv), **options)


def _own(path: Path) -> None:
    if os.geteuid() == 0:
        owner = pwd.getpwnam(SUPERUSER)
        os.chown(path, owner.pw_uid, owner.pw_gid)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class StartResult:
    started: bool
    log: str


def try_start(ini_text: str, directory: Path, name: str = "pgbouncer.ini",
              wait: float = 2.0) -> StartResult:
    """Start PgBouncer on `ini_text` (written to directory/name) and say whether it stays up;
    it is stopped again either way. Nothing listens beyond a unix socket in `directory`."""
    path = directory / name
    path.write_text(ini_text)
    _own(path)
    log = directory / "start.log"
    with open(log, "w") as out:
        proc = _start_as_postgres([PGBOUNCER, str(path)], cwd=directory, stdout=out,
                                  stderr=subprocess.STDOUT)
    deadline = time.monotonic() + wait
    try:
        while proc.poll() is None and time.monotonic() < deadline \
                and "process up" not in log.read_text(errors="replace"):
            time.sleep(0.05)
        started = proc.poll() is None
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
    return StartResult(started, log.read_text(errors="replace"))


def listen_settings(directory: Path, port: int = PGBOUNCER_PORT, tcp: bool = False) -> str:
    """The [pgbouncer] lines that keep a test PgBouncer on a private socket, logging to stderr.
    They go inside the file's last [pgbouncer] section: PgBouncer resets every [pgbouncer]
    setting to its default at each `[pgbouncer]` header."""
    return "\n".join([
        f"listen_addr = {'127.0.0.1' if tcp else ''}",
        f"listen_port = {port}",
        f"unix_socket_dir = {'' if tcp else directory}",
        "logfile =",
        "pidfile =",
        "",
    ])


@dataclass
class Bouncer:
    directory: Path
    port: int
    tcp: bool
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def host(self) -> str:
        return "127.0.0.1" if self.tcp else str(self.directory)

    def log(self) -> str:
        return "".join((self.directory / f"pgbouncer-{n}.log").read_text(errors="replace")
                       for n in range(len(self.procs)))


def _wait_listening(bouncer: Bouncer, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    target = (bouncer.host, bouncer.port)
    while time.monotonic() < deadline:
        for proc in bouncer.procs:
            if proc.poll() is not None:
                raise RuntimeError(f"pgbouncer exited: {bouncer.log()}")
        try:
            if bouncer.tcp:
                socket.create_connection(target, timeout=0.5).close()
            else:
                with socket.socket(socket.AF_UNIX) as sock:
                    sock.connect(str(bouncer.directory / f".s.PGSQL.{bouncer.port}"))
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"pgbouncer did not listen: {bouncer.log()}")


@contextmanager
def running_pgbouncer(ini_body: str, users: Sequence[str] = (), processes: int = 1,
                      tcp: bool = False) -> Iterator[Bouncer]:
    """Run PgBouncer (`processes` of them sharing a loopback port with so_reuseport when more
    than one) on `ini_body`, which ends in its [pgbouncer] section, plus private listen settings,
    with `users` in its auth_file (no
    password: the scenarios use auth_type = trust for them); always stop them."""
    directory = Path(tempfile.mkdtemp(prefix="cb-pgb-"))
    _own(directory)
    tcp = tcp or processes > 1
    bouncer = Bouncer(directory, free_port() if tcp else PGBOUNCER_PORT, tcp)
    userlist = directory / "userlist.txt"
    userlist.write_text("".join(f'"{user}" ""\n' for user in users))
    _own(userlist)
    ini = directory / "pgbouncer.ini"
    ini.write_text(ini_body + "\n" + listen_settings(directory, bouncer.port, tcp)
                   + f"auth_file = {userlist}\n")
    _own(ini)
    try:
        for number in range(processes):
            with open(directory / f"pgbouncer-{number}.log", "w") as out:
                bouncer.procs.append(_start_as_postgres(
                    [PGBOUNCER, str(ini)], cwd=directory, stdout=out,
                    stderr=subprocess.STDOUT))
        _wait_listening(bouncer)
        yield bouncer
    finally:
        for proc in bouncer.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in bouncer.procs:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        shutil.rmtree(directory, ignore_errors=True)


@dataclass(frozen=True)
class Load:
    peak: int  # most server connections PostgreSQL saw at once (PgBouncer's, not the probe)
    ok: int  # clients whose query ran
    errors: tuple[str, ...]  # what the other clients were told


@dataclass(frozen=True)
class Clients:
    """`count` clients logging in as `user` to PgBouncer database `database`."""

    user: str
    database: str
    count: int
    password: str | None = None


async def _client(bouncer: Bouncer, clients: Clients, release: asyncio.Event,
                  timeout: float) -> str | None:
    """Log in, take a server connection (an open transaction holds it in every pool mode) and
    keep it until the load has settled."""
    try:
        connection = await asyncpg.connect(
            host=bouncer.host, port=bouncer.port, user=clients.user, database=clients.database,
            password=clients.password, statement_cache_size=0, timeout=timeout,
            command_timeout=timeout)
    except (OSError, asyncio.TimeoutError, asyncpg.PostgresError) as error:
        return f"{type(error).__name__}: {error}"
    try:
        await connection.execute("BEGIN; SELECT 1")
        await asyncio.wait_for(release.wait(), timeout)
        await connection.execute("COMMIT")
        return None
    except (OSError, asyncio.TimeoutError, asyncpg.PostgresError) as error:
        return f"{type(error).__name__}: {error}"
    finally:
        connection.terminate()


async def _load(server: Server, bouncer: Bouncer, groups: Sequence[Clients], hold: float,
                timeout: float) -> Load:
    probe = await asyncpg.connect(host=str(server.socket_dir), port=server.port, user=SUPERUSER,
                                  database="postgres")
    peak, changed = 0, time.monotonic()
    release = asyncio.Event()
    try:
        tasks = [asyncio.ensure_future(_client(bouncer, group, release, timeout))
                 for group in groups for _ in range(group.count)]
        while not all(task.done() for task in tasks):
            count = int(await probe.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' "
                "AND pid <> pg_backend_pid()"))
            if count > peak:
                peak, changed = count, time.monotonic()
            # the pools have filled once no new server connection came for `hold` seconds
            if peak and time.monotonic() - changed >= hold:
                release.set()
            await asyncio.sleep(0.03)
        results = [task.result() for task in tasks]
    finally:
        await probe.close()
    errors = tuple(result for result in results if result is not None)
    return Load(peak, len(results) - len(errors), errors)


def drive(server: Server, bouncer: Bouncer, groups: Sequence[Clients], hold: float = 1.5,
          timeout: float = 20) -> Load:
    """All clients at once, each holding a server connection until no new one has opened for
    `hold` seconds; bounded by `timeout` per client."""
    return asyncio.run(_load(server, bouncer, groups, hold, timeout))
