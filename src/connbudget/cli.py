"""The connbudget command line. Imports stay inside the commands: pre-commit runs this often."""

from __future__ import annotations

import gc
import os
import sys

from connbudget import __version__

# typing and argparse cost more than the rest of `connbudget --version`: neither is imported
# until a command needs it.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Iterable
    from typing import Any, TextIO, TypeVar

    from connbudget.discover import Inputs
    from connbudget.errors import InputError
    from connbudget.report import Report
    from connbudget.runcache import Result
    from connbudget.settings import Settings

    T = TypeVar("T")

_EXITS = ("\nexit codes: 0 nothing at or above --fail-on; 1 findings at or above it; 2 usage or\n"
          "input errors (each reported as file:line: message; the other files are still\n"
          "checked, and 2 wins over 1)\n")


def _add_output_options(parser: argparse.ArgumentParser) -> None:
    from connbudget.reporters import FORMATS

    parser.add_argument("--format", "-f", choices=FORMATS, default=None,
                        help="output format (default: text; github inside GitHub Actions)")
    parser.add_argument("--output", "-o", metavar="[FORMAT=]FILE", action="append", default=[],
                        help="write the report to FILE (in --format); FORMAT=FILE writes it "
                             "in FORMAT too, repeatable: -o sarif=cb.sarif -o junit=cb.xml")
    parser.add_argument("--fail-on", choices=("info", "warning", "error"), default=None,
                        help="lowest severity that makes the exit code 1 (default: error)")
    _add_config_options(parser)


def _add_config_options(parser: argparse.ArgumentParser) -> None:
    config = parser.add_mutually_exclusive_group()
    config.add_argument("--config", metavar="FILE",
                        help="config file (default: [tool.connbudget] in pyproject.toml or "
                             ".connbudget.toml, found walking up from the first path to the "
                             "top of its repository)")
    config.add_argument("--no-config", action="store_true",
                        help="read no config file (on a pull request, whose own config is not "
                             "to be trusted: pass the base branch's with --config, or this)")


def _add_text_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--show", choices=("info",), action="append", default=[],
                        help="text output: also show info findings (hidden by default, "
                             "counted in the summary)")
    parser.add_argument("--verbose", "-v", action="store_true",
                        help="text output: draw the connection math of every database, not "
                             "only of those with a finding")


def _add_capacity_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--var-file", action="append", default=[], metavar="FILE",
                        help="Terraform variables file (repeatable)")
    parser.add_argument("--threshold", type=float, default=None,
                        help="alert threshold as a fraction of usable slots (default 0.8)")
    parser.add_argument("--no-cache", action="store_true",
                        help="do not read or write the parsed-file cache")


def _add_prevention_commands(sub: Any) -> None:
    """`alerts` and `diff`: what a team watches and re-checks, computed from the budget."""
    import argparse

    def command(name: str, summary: str, description: str, examples: tuple[str, ...],
                exits: str) -> argparse.ArgumentParser:
        epilog = "examples:\n" + "".join(f"  {line}\n" for line in examples) + exits
        parser: argparse.ArgumentParser = sub.add_parser(
            name, help=summary, description=description, epilog=epilog,
            formatter_class=argparse.RawDescriptionHelpFormatter)
        return parser

    alerts = command(
        "alerts", "alert rules and the platform's own alarms computed from the budget",
        "Print a Prometheus rule file for postgres_exporter metrics (per database: connections\n"
        "above the alert threshold of its usable slots; per role: above 80 % of its CONNECTION\n"
        "LIMIT), or the Terraform blocks of a platform's own connection alarm:\n"
        "aws_cloudwatch_metric_alarm on DatabaseConnections (cloudwatch),\n"
        "google_monitoring_alert_policy on num_backends (cloud-monitoring),\n"
        "azurerm_monitor_metric_alert on active_connections (azure-monitor).",
        ("connbudget alerts infra/ --format prometheus -o connbudget-rules.yml",
         "connbudget alerts infra/ --format cloudwatch --threshold 0.7 -o alarms.tf",
         "connbudget alerts infra/ --format cloud-monitoring -o alerts.tf"),
        "\nexit codes: 0 written; 2 usage or input errors (reported as file:line: message on\n"
        "stderr, the rules of the other files still written)\n")
    alerts.add_argument("paths", nargs="+", metavar="PATH")
    from connbudget.providers.registry import alarm_formats

    alerts.add_argument("--format", "-f", choices=("prometheus", *alarm_formats()),
                        default="prometheus")
    alerts.add_argument("--output", "-o", metavar="FILE", help="write the rules to FILE")
    alerts.add_argument("--threshold", type=float, default=None, dest="alert_threshold",
                        help="prometheus: fraction of usable slots; a platform's alarms: "
                             "fraction of max_connections (default: the config's threshold, "
                             "0.8)")
    alerts.add_argument("--var-file", action="append", default=[], metavar="FILE",
                        help="Terraform variables file (repeatable)")
    alerts.add_argument("--no-cache", action="store_true",
                        help="do not read or write the parsed-file cache")
    _add_config_options(alerts)

    diff = command(
        "diff", "budgets and findings of the working tree against a git ref",
        "Scan the working tree and the tree of REF (read from git; the working tree is not\n"
        "touched) and print each database's budget before and after, and the findings the\n"
        "change adds and fixes.",
        ('connbudget diff --base main', 'connbudget diff --base "origin/$GITHUB_BASE_REF" infra/ '
         "--format markdown -o budget-diff.md"),
        "\nexit codes: 0 no new finding at or above --fail-on; 1 a new finding at or above it;\n"
        "2 usage or input errors in the working tree (2 wins over 1)\n")
    diff.add_argument("paths", nargs="*", default=["."], metavar="PATH")
    diff.add_argument("--base", required=True, metavar="REF",
                      help="the git ref to compare with (a branch, tag or commit)")
    diff.add_argument("--format", "-f", choices=("text", "json", "markdown"), default="text")
    diff.add_argument("--output", "-o", metavar="FILE", help="write the comparison to FILE")
    diff.add_argument("--fail-on", choices=("info", "warning", "error"), default=None,
                      help="lowest severity of a NEW finding that makes the exit code 1 "
                           "(default: error)")
    _add_config_options(diff)
    _add_capacity_options(diff)


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    import argparse

    parser = argparse.ArgumentParser(
        prog="connbudget",
        description="Check PostgreSQL role limits and connection budgets before they page you.",
    )
    parser.add_argument("--version", action="version", version=f"connbudget {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, summary: str, description: str,
                examples: tuple[str, ...], exits: str = _EXITS) -> argparse.ArgumentParser:
        epilog = "examples:\n" + "".join(f"  {line}\n" for line in examples) + exits
        return sub.add_parser(name, help=summary, description=description, epilog=epilog,
                              formatter_class=argparse.RawDescriptionHelpFormatter)

    scan = command(
        "scan", "run every check that applies to the files found",
        "Find SQL migrations, Terraform, PgBouncer configuration and Kubernetes manifests under\n"
        "each PATH (default .) and run the role rules and the capacity analysis on them.",
        ("connbudget scan .", "connbudget scan infra/ db/migrations --format sarif -o cb.sarif"))
    scan.add_argument("paths", nargs="*", default=["."], metavar="PATH")
    _add_output_options(scan)
    _add_text_options(scan)
    _add_capacity_options(scan)

    sql = command(
        "sql", "check CREATE/ALTER ROLE statements in SQL migrations",
        "Check the role statements of SQL migrations (directories are walked in migration\n"
        "order) against CB001-CB007.",
        ("connbudget sql db/migrations", "connbudget sql V3__roles.sql --fail-on warning"))
    sql.add_argument("paths", nargs="+", metavar="PATH")
    _add_output_options(sql)
    _add_text_options(sql)

    capacity = command(
        "capacity", "compute the connection budget of every database",
        "Build databases, roles, poolers and clients from Terraform, PgBouncer and Kubernetes\n"
        "files and check each database's worst-case connections (CB101-CB108).",
        ("connbudget capacity infra/",
         "connbudget capacity . --var-file prod.tfvars --format json"))
    capacity.add_argument("paths", nargs="+", metavar="PATH")
    _add_output_options(capacity)
    _add_text_options(capacity)
    _add_capacity_options(capacity)

    sql2json = command(
        "sql2json", "print role statements as JSON for Conftest",
        "Print one JSON document per role statement (a top-level array, as Conftest splits\n"
        "it), or with --combined one document with the final state of every role.",
        ("connbudget sql2json db/migrations > roles.json",
         "connbudget sql2json db/migrations --combined"),
        "\nexit codes: 0 read every file; 2 an unreadable or unparseable input (reported as\n"
        "file:line: message on stderr, the other statements still printed)\n")
    sql2json.add_argument("paths", nargs="+", metavar="PATH")
    sql2json.add_argument("--combined", action="store_true",
                          help="one document with every statement and the final role states")
    sql2json.add_argument("--output", "-o", metavar="FILE", help="write the JSON to FILE")
    _add_config_options(sql2json)

    checks = command(
        "checks-dir", "print the directory to pass to checkov --external-checks-dir",
        "Print the directory of connbudget's Checkov checks (CKV_CB_001-CKV_CB_005), or with\n"
        "--checkov-config a .checkov.yaml fragment that names it by absolute path.",
        ('checkov -d . --external-checks-dir "$(connbudget checks-dir)" '
         "--mask postgresql_role:password",
         "connbudget checks-dir --checkov-config >> .checkov.yaml"), "")
    checks.add_argument("--checkov-config", action="store_true",
                        help="print a .checkov.yaml fragment naming it by absolute path")
    rules = command(
        "rules", "list the rule catalogue, or show one rule's page",
        "Without RULE, list every rule. With RULE (CB101, or a Checkov id such as CKV_CB_001),\n"
        "print its page: the problem, why it matters, a bad and a good example, the fix and\n"
        "how to suppress it.",
        ("connbudget rules", "connbudget rules CB101"),
        "\nexit codes: 0 printed; 2 unknown rule\n")
    rules.add_argument("rule", nargs="?", metavar="RULE")
    rules.add_argument("--format", "-f", choices=("text", "json", "markdown"), default="text")
    _add_prevention_commands(sub)
    _add_live_command(command)
    return parser, dict(sub.choices)


def _add_live_command(command: Callable[..., argparse.ArgumentParser]) -> None:
    live = command(
        "live", "check a running PostgreSQL (and PgBouncer) against the budget in the files",
        "Read a running PostgreSQL read-only (one connection, catalog views, bounded by\n"
        "timeouts) and print who holds its connection slots, in which state and for how long,\n"
        "with the pg_terminate_backend statements that would end the sessions idle longer\n"
        "than --idle-threshold (connbudget runs none). With PATHs, compare the server with\n"
        "the files: max_connections, role limits, roles no file declares, usage against the\n"
        "alert threshold, idle transactions, and with --pgbouncer the running PgBouncer\n"
        "against its ini (CB114-CB119). The DSN's password, PGPASSWORD and .pgpass are used\n"
        "and never printed. Needs the live extra: pip install 'connbudget[live]'.",
        ("connbudget live --dsn postgresql://monitor@db.internal/postgres",
         "connbudget live --dsn \"$DATABASE_URL\" infra/ db/migrations --database "
         "aws_db_instance.main",
         "PGSERVICE=prod connbudget live . --pgbouncer postgresql://stats@pgbouncer:6432/"
         "pgbouncer --format json"),
        "\nexit codes: 0 nothing at or above --fail-on; 1 findings at or above it; 2 usage or\n"
        "input errors: the server cannot be reached or read, the role lacks pg_monitor, the\n"
        "server matches no database of the files, a file cannot be read (2 wins over 1)\n")
    live.add_argument("paths", nargs="*", metavar="PATH",
                      help="the repository's files to compare the server with (none: the "
                           "server alone)")
    live.add_argument("--dsn", default="", metavar="URL",
                      help="libpq connection URL or key=value string (default: the PG* "
                           "environment variables, a service file, libpq's defaults)")
    live.add_argument("--pgbouncer", metavar="URL",
                      help="a PgBouncer admin console to read too (its database pgbouncer, "
                           "as one of admin_users or stats_users)")
    live.add_argument("--database", metavar="ADDRESS",
                      help="the database of the files the server is (default: matched by host, "
                           "an RDS endpoint by its identifier)")
    live.add_argument("--idle-threshold", default="5min", metavar="DURATION",
                      help="sessions idle longer than this get a pg_terminate_backend "
                           "statement, and idle transactions a CB119 (default 5min)")
    live.add_argument("--show-queries", action="store_true",
                      help="also read and print each session's query text, client address and "
                           "application name (left out by default: they may hold personal "
                           "data or secrets)")
    _add_output_options(live)
    live.add_argument("--show", choices=("info",), action="append", default=[],
                      help="text output: also show info findings")
    live.set_defaults(verbose=False)
    _add_capacity_options(live)


def _parse(parser: argparse.ArgumentParser, commands: dict[str, argparse.ArgumentParser],
           argv: list[str]) -> argparse.Namespace:
    """Parse with options and paths in any order (`capacity a --format json b`)."""
    for index, word in enumerate(argv):
        if word in commands:
            parser.parse_args(argv[:index])  # top-level options such as --version
            args = commands[word].parse_intermixed_args(argv[index + 1:])
            args.command = word
            return args
        if not word.startswith("-"):
            break
    return parser.parse_args(argv)


def _settings(args: argparse.Namespace) -> Settings:
    from connbudget.config import load_settings

    return load_settings(getattr(args, "paths", []) or [], config=getattr(args, "config", None),
                         fail_on=getattr(args, "fail_on", None),
                         threshold=getattr(args, "threshold", None),
                         var_files=getattr(args, "var_file", []) or [],
                         cache=not getattr(args, "no_cache", False),
                         use_config=not getattr(args, "no_config", False))


def _read(paths: list[str], settings: Settings, run: Callable[[Inputs], T]) -> T:
    """`run` over the files found under `paths`, every read confined to their trees: the one
    way each command reads its inputs. A parse cache inside those trees is refused."""
    from connbudget.cache import confined
    from connbudget.discover import discover

    with confined(paths, settings.cache):
        return run(discover(paths, settings.exclude, settings.exclude_root))


def _emit(text: str, output: str | None) -> None:
    if output:
        with open(output, "w", encoding="utf-8") as handle:
            handle.write(text)
    else:
        sys.stdout.write(text)


def _text_settings(args: argparse.Namespace, settings: Settings, to_stdout: bool) -> Settings:
    from dataclasses import replace

    return replace(settings, show_info="info" in args.show, verbose=args.verbose,
                   colour=to_stdout and _wants_colour(sys.stdout))


def _wants_colour(stream: TextIO) -> bool:
    """NO_COLOR wins, then FORCE_COLOR, then whether `stream` is a terminal (the text report
    colours and links only then; kept here so that other formats never import it)."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR", "") not in ("", "0"):
        return True
    return stream.isatty()


def _check(args: argparse.Namespace, engine: Callable[[Inputs, Settings], Report]) -> int:
    from connbudget.kinds import kinds_of
    from connbudget.report import Checked
    from connbudget.reporters import render
    from connbudget.rules.suppress import apply_suppressions

    settings = _settings(args)
    output, per_format = _outputs(args.output)
    settings = _text_settings(args, settings, output is None)

    def run(inputs: Inputs) -> Report:
        report = apply_suppressions(engine(inputs, settings), settings, args.command).sorted()
        report.checked = Checked(tuple(args.paths), inputs.counts(kinds_of(args.command)))
        return report

    from connbudget import runcache
    from connbudget.cache import confined
    from connbudget.discover import discover

    formats = _formats(args, output, per_format)
    with confined(args.paths, settings.cache) as roots:
        run_key = runcache.key(_run_parts(args, settings, formats, output is None), roots.paths,
                               _files_read(settings)) if settings.cache else None
        result = runcache.load(run_key) if run_key is not None else None
        if result is None:
            report = run(discover(args.paths, settings.exclude, settings.exclude_root))
            result = _result(report, settings, formats, lambda fmt: render(report, fmt, settings))
            if run_key is not None:
                runcache.save(run_key, result, roots.entered)
    return _write(args, result, output, per_format)


def _run_parts(args: argparse.Namespace, settings: Settings, formats: list[str],
               to_stdout: bool) -> dict[str, Any]:
    """What a report depends on beside the files: the command line, the settings, the
    terminal and the environment variables the reports read (runcache)."""
    import dataclasses
    import shutil

    return {"version": __version__, "cwd": os.getcwd(), "formats": formats,
            "args": {name: value for name, value in sorted(vars(args).items())
                     if isinstance(value, (str, int, float, bool, list, type(None)))},
            "settings": dataclasses.asdict(settings),
            "terminal": list(shutil.get_terminal_size()), "stdout": to_stdout,
            "tty": sys.stdout.isatty(),
            "environment": {name: os.environ.get(name) for name in
                            ("COLUMNS", "LINES", "NO_COLOR", "FORCE_COLOR", "GITHUB_ACTIONS",
                             "TERM")}}


def _files_read(settings: Settings) -> list[str]:
    """The files a run reads beside its tree: the config and the var-files."""
    return [path for path in (settings.config_file, *settings.var_files,
                              *settings.config_var_files) if path]


def _formats(args: argparse.Namespace, output: str | None,
             per_format: list[tuple[str, str]]) -> list[str]:
    """The --format (first) and the formats of each FORMAT=FILE."""
    from connbudget.reporters import resolve_format

    fmt = resolve_format(args.format, output)
    return [fmt, *sorted({name for name, _ in per_format} - {fmt})]


def _result(report: Report, settings: Settings, formats: list[str],
            rendered: Callable[[str], str]) -> Result:
    """What a run prints: the report in each of `formats`, its errors, its exit code."""
    from connbudget.runcache import Result

    return Result({fmt: rendered(fmt) for fmt in formats}, [str(e) for e in report.errors],
                  report.exit_code(settings.fail_on))


def _write(args: argparse.Namespace, result: Result, output: str | None,
           per_format: list[tuple[str, str]]) -> int:
    """Write the report in --format (and each FORMAT=FILE); its exit code."""
    from connbudget.reporters import resolve_format

    for extra_fmt, path in per_format:
        _emit(result.outputs[extra_fmt], path)
    fmt = resolve_format(args.format, output)
    _emit(result.outputs[fmt], output)
    if fmt != "text" and output is None:
        # Machine formats own stdout; errors still reach a human on stderr
        _print_lines(result.errors)
    return result.code


def _deliver(args: argparse.Namespace, report: Report, settings: Settings, output: str | None,
             per_format: list[tuple[str, str]], rendered: Callable[[str], str]) -> int:
    """Write the report in --format (and each FORMAT=FILE); its exit code."""
    formats = _formats(args, output, per_format)
    return _write(args, _result(report, settings, formats, rendered), output, per_format)


def _print_config(settings: Settings) -> None:
    """What the config file sets, on stderr, for the commands whose output is data."""
    from connbudget.quoting import workflow_safe
    from connbudget.reporters._common import config_line

    config = config_line(settings)
    if config is not None:
        print(workflow_safe(f"connbudget: {config}"), file=sys.stderr)


def _print_errors(errors: Iterable[InputError]) -> None:
    """Input errors on stderr, one line each, never a workflow command (GitHub Actions reads
    those from stderr too)."""
    _print_lines(str(error) for error in errors)


def _print_lines(lines: Iterable[str]) -> None:
    from connbudget.quoting import workflow_safe

    for line in lines:
        print(workflow_safe(line), file=sys.stderr)


def _outputs(values: list[str]) -> tuple[str | None, list[tuple[str, str]]]:
    """`--output FILE` (the --format report) and `--output FORMAT=FILE` (one per format): a
    value is per-format only when what precedes `=` is a format name."""
    from connbudget.errors import UsageError
    from connbudget.reporters import FORMATS

    plain: list[str] = []
    per_format: list[tuple[str, str]] = []
    for value in values:
        name, equals, path = value.partition("=")
        if equals and name in FORMATS and path:
            per_format.append((name, path))
        else:
            plain.append(value)
    if len(plain) > 1:
        raise UsageError("--output FILE is given twice; name the format of each extra file: "
                         "--output sarif=cb.sarif")
    return (plain[0] if plain else None), per_format


def _cmd_sql(args: argparse.Namespace) -> int:
    from connbudget.engine import check_sql

    return _check(args, check_sql)


def _cmd_capacity(args: argparse.Namespace) -> int:
    from connbudget.engine import check_capacity

    return _check(args, check_capacity)


def _cmd_scan(args: argparse.Namespace) -> int:
    from connbudget.engine import scan

    return _check(args, scan)


def _cmd_sql2json(args: argparse.Namespace) -> int:
    import json

    from connbudget.engine import read_roles
    from connbudget.quoting import JSON_ESCAPE, guard

    settings = _settings(args)
    result, errors = _read(args.paths, settings, read_roles)
    payload = result.combined() if args.combined else result.documents
    _emit(guard(json.dumps(payload, indent=2) + "\n", JSON_ESCAPE), args.output)
    _print_errors(errors)
    _print_config(settings)
    return 2 if errors else 0


def _cmd_alerts(args: argparse.Namespace) -> int:
    from connbudget.engine import capacity_model

    settings = _settings(args)
    model, budgets, errors = _read(args.paths, settings,
                                   lambda inputs: capacity_model(inputs, settings))
    if args.alert_threshold is not None and not 0 < args.alert_threshold <= 1:
        from connbudget.errors import UsageError

        raise UsageError("--threshold must be a fraction in (0, 1]")
    share = settings.threshold if args.alert_threshold is None else args.alert_threshold
    if args.format != "prometheus":
        from connbudget.providers.registry import alarm_modules

        text = alarm_modules()[args.format].render(budgets, share)
    else:
        from connbudget.alerts import prometheus

        text = prometheus.render(budgets, model.roles, share)
    _emit(text, args.output)
    _print_errors(sorted(errors, key=lambda e: (e.file, e.line)))
    _print_config(settings)
    return 2 if errors else 0


def _scan_report(args: argparse.Namespace, settings: Settings | None = None) -> Report:
    from connbudget.engine import scan
    from connbudget.rules.suppress import apply_suppressions

    settings = settings or _settings(args)
    return _read(args.paths, settings, lambda inputs: apply_suppressions(
        scan(inputs, settings), settings, "scan").sorted())


def _cmd_diff(args: argparse.Namespace) -> int:
    import argparse
    import contextlib
    import json

    from connbudget.catalogue import severity_rank
    from connbudget.diff import compare, run_base
    from connbudget.errors import UsageError
    from connbudget.reporters._common import config_line
    from connbudget.reporters.diff import render_markdown, render_text

    settings = _settings(args)
    after = _scan_report(args, settings)

    def base_run(moved: Callable[[str], str]) -> Report:
        base_args = argparse.Namespace(**vars(args))
        base_args.paths = [moved(p) for p in args.paths]
        base_args.var_file = [moved(p) for p in args.var_file]
        if args.config:
            # a config outside the repository (the base branch's, saved by the CI job) is
            # the same file for both trees
            with contextlib.suppress(UsageError):
                base_args.config = moved(os.path.abspath(args.config))
        return _scan_report(base_args)

    before = run_base(args.base, base_run)
    comparison = compare(args.base, before, after)
    config = config_line(settings)
    if args.format == "json":
        from connbudget.quoting import JSON_ESCAPE, guard

        data = comparison.as_json()
        if settings.config_file is not None:
            data["config"] = {"file": settings.config_file, "sets": settings.config_table}
        text = guard(json.dumps(data, indent=2) + "\n", JSON_ESCAPE)
    else:
        text = (render_markdown if args.format == "markdown" else render_text)(comparison,
                                                                               config)
    _emit(text, args.output)
    if args.format != "text" and args.output is None:
        _print_errors(after.errors)
    if after.errors:
        return 2
    return 1 if any(severity_rank(f.severity) >= severity_rank(settings.fail_on)
                    for f in comparison.new) else 0


def _cmd_live(args: argparse.Namespace) -> int:
    from connbudget.live.command import live, render_live

    settings = _settings(args)
    output, per_format = _outputs(args.output)
    settings = _text_settings(args, settings, output is None)
    result = live(args, settings)
    return _deliver(args, result.report, settings, output, per_format,
                    lambda fmt: render_live(result, fmt, settings))


def _cmd_checks_dir(args: argparse.Namespace) -> int:
    import json

    from connbudget.resources import checks_dir

    directory = checks_dir().resolve()
    if args.checkov_config:
        # Checkov resolves a relative external-checks-dir against its working directory, not
        # against the config file, and a directory it cannot find loads nothing, silently.
        print("external-checks-dir:")
        print(f"  - {json.dumps(str(directory))}")
    else:
        print(directory)
    return 0


def _cmd_rules(args: argparse.Namespace) -> int:
    from connbudget.errors import UsageError
    from connbudget.reporters.catalogue import render_catalogue, render_rule

    if args.rule is None:
        sys.stdout.write(render_catalogue(args.format))
        return 0
    page = render_rule(args.rule, args.format)
    if page is None:
        raise UsageError(f"unknown rule {args.rule!r}: 'connbudget rules' lists them")
    sys.stdout.write(page)
    return 0


COMMANDS = {
    "scan": _cmd_scan,
    "sql": _cmd_sql,
    "capacity": _cmd_capacity,
    "sql2json": _cmd_sql2json,
    "alerts": _cmd_alerts,
    "diff": _cmd_diff,
    "live": _cmd_live,
    "checks-dir": _cmd_checks_dir,
    "rules": _cmd_rules,
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv == ["--version"]:
        print(f"connbudget {__version__}")
        return 0
    from connbudget.errors import UsageError

    parser, commands = build_parser()
    args = _parse(parser, commands, argv)
    if args.command is None:
        parser.print_help()
        return 2
    # A run builds many long-lived objects and next to no cyclic garbage: checking the young
    # objects every 200,000 allocations instead of every 700 saves a tenth of a large run.
    threshold = gc.get_threshold()
    gc.set_threshold(200_000, 30, 30)
    from connbudget import cache

    cache.write_in_background(True)
    try:
        return COMMANDS[args.command](args)
    except UsageError as exc:
        from connbudget.quoting import workflow_safe

        print(workflow_safe(f"connbudget: {exc}"), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # the last line of defence: no traceback reaches a user
        # The message is left out on purpose: it may quote input, and input may hold a secret.
        print(f"connbudget: internal error ({type(exc).__name__}); please report it with the "
              "input that caused it", file=sys.stderr)
        return 2
    finally:
        cache.finish()
        cache.write_in_background(False)
        gc.set_threshold(*threshold)
