"""Hostile pull requests, each run as a user's CI job runs connbudget on it.

The job is a fresh git checkout (the base branch's migration committed, the pull request's
files beside it, `.git/config` holding the token `actions/checkout` persists), a home and a
runner temp directory outside it (the cache, the job's secrets var-file), an environment
holding a fake secret, a time limit, and every output format. For every case the job must show
no secret (on stdout, on stderr, in any output file or in the cache), read nothing outside the
checkout and write nothing outside the cache and its outputs (an audit hook records each file
the process opens), run no workflow command, start no program but git (and `uname`, which the
Rego engine's import runs), end within its time limit with a located error for what it
refused, and keep the findings of the other files.

A case is one row of CASES: the pull request's tree (`fixtures/hostile/jobs/<tree>`), what
the job makes at run time (symlinks, FIFOs, files of its own), the commands it runs, what the
run must say, and the marker of the other files' findings that must survive.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import FIXTURES, ROOT

from connbudget.reporters import FORMATS

JOBS = FIXTURES / "hostile" / "jobs"
TIMEOUT = 120  # seconds a job may take; a hang fails the case
TOKEN = "ZmFrZXRva2VuMDQ1MXNlY3JldA"  # the base64 token a checkout keeps in .git/config
ENV_SECRET = "envsecret0451token"
OUTSIDE_SECRET = "outsidesecret0451"
VAR_FILE_SECRETS = ("varfilesecret0password", "varfilesecret1apikey", "varfilesecret2nested",
                    "production-eu")
SECRETS = (TOKEN, ENV_SECRET, OUTSIDE_SECRET, *VAR_FILE_SECRETS)
# a workflow command GitHub's runner would run: `::name` at a line's start, `##[` anywhere
COMMAND = re.compile(r"^\s*::|##\[", re.MULTILINE)
TEMP_PROBE = re.compile(r"/tmp/[a-z0-9_]{8}")  # tempfile.gettempdir()'s test file
# connbudget's own annotation: its properties escape every `:`, so its data starts after `::`
OWN_ANNOTATION = re.compile(r"^::(?:error|warning|notice) [^:]*::")


@dataclass
class Job:
    """One CI job's directories: the checkout, and what lies outside it."""

    root: Path

    @property
    def repo(self) -> Path:
        return self.root / "work" / "repo"

    @property
    def temp(self) -> Path:  # ${{ runner.temp }}
        return self.root / "runner-temp"

    @property
    def cache(self) -> Path:
        return self.temp / "connbudget-cache"

    @property
    def out(self) -> Path:
        return self.temp / "out"

    @property
    def outside(self) -> Path:  # a file of the runner's, beside the checkout
        return self.root / "work" / "outside-secret.txt"


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str
    outputs: dict[str, str]  # --output files by name
    opened: list[tuple[str, str, bool]]  # (event, path, written)


def _every_format(*args: str) -> tuple[str, ...]:
    """A scan that writes JSON on stdout and every other format to a file, as the CI
    recipes do (`--output FORMAT=FILE`)."""
    outputs = [f"--output={fmt}={{out}}/report.{fmt}" for fmt in FORMATS if fmt != "json"]
    return (*args, "--format", "json", *outputs)


SCAN = _every_format("scan", ".")
SECRET_VAR_FILE = "--var-file={temp}/ci-secrets.tfvars"


def _nothing(job: Job) -> None:
    """The pull request's files alone."""


def _vcs_links(job: Job) -> None:
    (job.repo / ".hg").mkdir()
    (job.repo / ".hg" / "hgrc").write_text(f"[auth]\nx.password = {OUTSIDE_SECRET}\n")
    (job.repo / "vcs.tf").symlink_to(".git/config")
    (job.repo / "metadata").symlink_to(".git")
    (job.repo / "hg.sql").symlink_to(".hg/hgrc")


def _scan_path_links(job: Job) -> None:
    (job.repo / "infra").symlink_to("../..")
    (job.repo / "etc").symlink_to("/etc")


def _sql_links(job: Job) -> None:
    db = job.repo / "db"
    (db / "V2__environ.sql").symlink_to("/proc/self/environ")
    (db / "V3__passwd.sql").symlink_to("/etc/passwd")
    (db / "V4__outside.sql").symlink_to(job.outside)
    os.mkfifo(db / "V5__fifo.sql")


def _config_link(job: Job) -> None:
    target = job.root / "work" / "evil.toml"
    target.write_text(f'fail-on = "{OUTSIDE_SECRET}"\n')
    (job.repo / ".connbudget.toml").symlink_to(target)


def _pyproject_link(job: Job) -> None:
    target = job.root / "work" / "pyproject.toml"
    target.write_text(f'[tool.connbudget]\nthreshold = "{OUTSIDE_SECRET}"\n')
    (job.repo / "pyproject.toml").symlink_to(target)


def _cache_in_checkout(job: Job) -> None:
    """The recipe this project once printed: the cache inside the checkout, so the pull
    request supplies it (here, a committed entry directory linked to /dev)."""
    (job.repo / ".connbudget-cache" / "hcl").mkdir(parents=True)
    (job.repo / ".connbudget-cache" / "hcl" / "00").symlink_to("/dev")


def _cache_links(job: Job) -> None:
    """A cache restored from another branch's job that holds a linked directory."""
    (job.cache / "hcl").mkdir(parents=True)
    (job.cache / "hcl" / "ab").symlink_to(job.root / "work")


def _named_files(job: Job) -> None:
    """File names that a log or a comment would run."""
    source = job.repo / "V2__names.sql"
    for name in ("V3__##[error]named.sql", "V4__a\n::add-mask::named.sql", "V5__@org.sql"):
        shutil.copy(source, job.repo / name)


@dataclass(frozen=True)
class Case:
    name: str
    tree: str | None  # fixtures/hostile/jobs/<tree>, copied into the checkout
    runs: tuple[tuple[str, ...], ...] = (SCAN,)
    setup: Callable[[Job], None] = _nothing
    says: tuple[str, ...] = ()  # said on stdout or stderr of the first run
    # in every output of each scan and sql2json: the base branch's finding, kept
    kept: str | None = "ledger"
    codes: tuple[int, ...] = (1, 2)  # the first run's exit code
    secrets: tuple[str, ...] = ()  # markers of the tree's own that must never be shown
    env: dict[str, str] = field(default_factory=dict)


CASES = [
    Case("files in .git and .hg are never read", "vcs_metadata", setup=_vcs_links,
         says=("main.tf:3: a file named here is version-control metadata, never read",
               "main.tf:10: a file named here is version-control metadata, never read",
               "vcs.tf:0: version-control metadata, never read",
               "metadata:0: a symlink to version-control metadata, never read",
               "hg.sql:0: version-control metadata, never read")),
    Case("a committed symlink named as a scan path is refused, not made a root", "scan_paths",
         runs=(_every_format("scan", "infra", "etc", "db"),
               ("sql2json", "infra", "db"), ("alerts", "infra", "db"),
               ("diff", "--base", "HEAD", "infra", "db", "--format", "json")),
         setup=_scan_path_links,
         says=("infra:0: outside the scanned tree, not read",
               "etc:0: outside the scanned tree, not read")),
    Case("sql2json reads through the confined discovery", None,
         runs=(("sql2json", "db"), ("sql2json", "db", "--combined")), setup=_sql_links,
         says=("V2__environ.sql:0: a system file, never read",
               "V3__passwd.sql:0: outside the scanned tree, not read",
               "V4__outside.sql:0: outside the scanned tree, not read",
               "V5__fifo.sql:0: not a regular file, not read")),
    Case("a config committed as a symlink is refused without a word of it", None,
         runs=(SCAN, ("sql2json", "."), ("alerts", ".")), setup=_config_link,
         says=(".connbudget.toml: a symlink; a config file in the scanned tree is read only as "
               "a regular file inside it",), kept=None, codes=(2,)),
    Case("a pyproject.toml committed as a symlink is refused too", None, setup=_pyproject_link,
         says=("pyproject.toml: a symlink",), kept=None, codes=(2,)),
    Case("the job's var-file secrets are never shown nor cached", "var_file_secrets",
         runs=(_every_format("scan", ".", SECRET_VAR_FILE),
               ("alerts", ".", SECRET_VAR_FILE, "--format", "cloudwatch"),
               ("diff", "--base", "HEAD", ".", SECRET_VAR_FILE, "--format", "markdown"))),
    Case("secrets written in the code are shown and cached as <redacted>", "secrets_in_code",
         secrets=("codesecret0sensitivedefault", "codesecret1bootstrap", "codesecret2nested",
                  "codesecret3tfvars", "codesecret4apikey", "codesecret5adminpwd"),
         says=("<redacted>",)),
    Case("a plan's sensitive values are never shown", "plan_sensitive",
         secrets=("plansecret0name", "plansecret1password")),
    Case("a cache inside the checkout is refused", "var_file_secrets", setup=_cache_in_checkout,
         env={"CONNBUDGET_CACHE_DIR": ".connbudget-cache"},
         says=("the cache directory .connbudget-cache is inside the scanned tree",),
         kept=None, codes=(2,)),
    Case("a cache that holds a symlink is refused", "var_file_secrets", setup=_cache_links,
         says=("holds a symlink",), kept=None, codes=(2,)),
    Case("names cannot run a workflow command or mention a team", "workflow_names",
         runs=(*(("scan", ".", "--format", fmt) for fmt in FORMATS),
               ("alerts", "."), ("alerts", ".", "--format", "cloudwatch"),
               *(("diff", "--base", "HEAD", ".", "--format", fmt)
                 for fmt in ("text", "json", "markdown"))),
         setup=_named_files),
    Case("generated Terraform and rules hold every name quoted", "generated_files",
         runs=(SCAN, ("alerts", "."), ("alerts", ".", "--format", "cloudwatch"))),
    Case("the recipes read no config of the pull request's", "config_weakens",
         runs=(_every_format("scan", ".", "--no-config"),), codes=(1,)),
    Case("a config of the pull request's is listed in every format", "config_weakens",
         says=("config .connbudget.toml sets disable",), kept=".connbudget.toml", codes=(0,)),
]


def _checkout(job: Job, case: Case) -> None:
    """The job's checkout: the base branch committed, the pull request's files beside it."""
    job.repo.mkdir(parents=True)
    job.temp.mkdir()
    job.out.mkdir()
    (job.root / "home").mkdir()
    job.outside.write_text(f"CREATE ROLE {OUTSIDE_SECRET} LOGIN;\n")
    (job.temp / "ci-secrets.tfvars").write_text(
        f'db_password = "{VAR_FILE_SECRETS[0]}"\napi_key = "{VAR_FILE_SECRETS[1]}"\n'
        f'creds = {{ admin = {{ pwd = "{VAR_FILE_SECRETS[2]}" }} }}\n'
        f'environment = "{VAR_FILE_SECRETS[3]}"\n')
    shutil.copytree(JOBS / "control", job.repo, dirs_exist_ok=True)
    git = ["git", "-C", str(job.repo), "-c", "user.name=ci", "-c", "user.email=ci@example.com"]
    subprocess.run([*git, "init", "-q"], check=True, timeout=60)
    subprocess.run([*git, "config", "http.https://github.com/.extraheader",
                    f"AUTHORIZATION: basic {TOKEN}"], check=True, timeout=60)
    subprocess.run([*git, "add", "-A"], check=True, timeout=60)
    subprocess.run([*git, "commit", "-q", "-m", "base"], check=True, timeout=60)
    if case.tree is not None:
        shutil.copytree(JOBS / case.tree, job.repo, dirs_exist_ok=True)
    case.setup(job)


def _environment(job: Job, case: Case) -> dict[str, str]:
    """A clean environment as a runner gives a step: a secret in it, nothing of the tests'."""
    return {"PATH": os.environ["PATH"], "HOME": str(job.root / "home"), "LANG": "C.UTF-8",
            "RUNNER_TEMP": str(job.temp), "CONNBUDGET_CACHE_DIR": str(job.cache),
            "GITHUB_TOKEN": ENV_SECRET, "DB_PASSWORD": ENV_SECRET, "COLUMNS": "120",
            "PYTHONDONTWRITEBYTECODE": "1",  # as an installed wheel: its bytecode is made
            **case.env}


def _run(job: Job, case: Case, args: tuple[str, ...]) -> Run:
    argv = [arg.format(out=job.out, temp=job.temp) for arg in args]
    log = job.root / "opened.jsonl"
    proc = subprocess.run([sys.executable, str(ROOT / "tests" / "hostile_job.py"), str(log),
                           *argv], cwd=job.repo, env=_environment(job, case),
                          capture_output=True, text=True, timeout=TIMEOUT, check=False)
    opened = [tuple(json.loads(line)) for line in log.read_text().splitlines()]
    outputs = {path.name: path.read_text(encoding="utf-8", errors="replace")
               for path in job.out.iterdir()}
    for path in job.out.iterdir():
        path.unlink()
    return Run(proc.returncode, proc.stdout, proc.stderr, outputs, opened)  # type: ignore[arg-type]


def _allowed(job: Job) -> tuple[str, ...]:
    """Where a job may read: its checkout, its cache and var-file, connbudget and Python."""
    return (str(job.repo), str(job.cache), str(job.temp / "ci-secrets.tfvars"), str(ROOT),
            sys.prefix, sys.base_prefix, os.path.realpath(sys.base_prefix), "/usr/lib/python3",
            "/tmp/connbudget-base-")


def _check_confined(job: Job, run: Run) -> None:
    readable = _allowed(job)
    for event, path, written in run.opened:
        if event == "subprocess.Popen":
            # diff runs git; the Rego engine's import asks platform.processor() (`uname -p`)
            assert os.path.basename(path) in ("git", "uname"), f"started {path}"
        elif written:
            # diff's base tree is a temporary directory; Python probes the directory first
            assert path.startswith((str(job.cache), str(job.out), "/tmp/connbudget-base-")) \
                or TEMP_PROBE.fullmatch(path) or path == os.devnull, f"wrote {path}"
        else:
            assert path.startswith(readable), f"read {path} ({event})"


def _check_no_secret(job: Job, case: Case, run: Run) -> None:
    shown = [run.out, run.err, *run.outputs.values()]
    if job.cache.is_dir():
        shown += [p.read_text(errors="replace") for p in job.cache.rglob("*") if p.is_file()]
    for secret in (*SECRETS, *case.secrets):
        assert not any(secret in text for text in shown), secret


def _check_no_command(args: tuple[str, ...], run: Run) -> None:
    """No line runs a workflow command but connbudget's own annotations, whose data holds no
    `::` and no `##[` either; no Markdown mentions anyone."""
    for text in (run.out, run.err, *run.outputs.values()):
        for line in text.splitlines():
            own = OWN_ANNOTATION.match(line)
            data = line[own.end():] if own else line
            assert not COMMAND.search(data) and not (own and "::" in data), line
    markdown = [run.outputs.get("report.markdown", "")]
    markdown += [run.out] if "markdown" in args else []
    assert not any("@" in text for text in markdown)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_a_hostile_pull_request_in_a_ci_job(case: Case, tmp_path: Path) -> None:
    job = Job(tmp_path)
    _checkout(job, case)
    runs = [_run(job, case, args) for args in case.runs]
    assert runs[0].code in case.codes, (runs[0].code, runs[0].err)
    for args, run in zip(case.runs, runs, strict=True):
        assert "Traceback" not in run.err and "internal error" not in run.err, run.err
        assert run.code in (0, 1, 2), (run.code, run.err)
        _check_confined(job, run)
        _check_no_secret(job, case, run)
        _check_no_command(args, run)
    for args, run in zip(case.runs, runs, strict=True):
        if case.kept is not None and args[0] in ("scan", "sql2json"):
            outputs = [run.out, *run.outputs.values()]
            assert all(case.kept in text for text in outputs), (args, run.err)
    said = "".join([runs[0].out, runs[0].err, *runs[0].outputs.values()])
    for words in case.says:
        assert words in said, words
