"""The connbudget command line. Imports stay inside the commands: pre-commit runs this often."""

from __future__ import annotations

import gc
import sys

from connbudget import __version__

# typing and argparse cost more than the rest of `connbudget --version`: neither is imported
# until a command needs it.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable

    from connbudget.discover import Inputs
    from connbudget.report import Report
    from connbudget.settings import Settings

FORMATS = ("text", "json", "sarif", "junit", "github", "gitlab", "markdown")


def _add_output_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", "-f", choices=FORMATS, default=None,
                        help="output format (default: text; github inside GitHub Actions)")
    parser.add_argument("--output", "-o", metavar="FILE", help="write the report to FILE")
    parser.add_argument("--fail-on", choices=("info", "warning", "error"), default=None,
                        help="lowest severity that makes the exit code 1 (default: error)")
    parser.add_argument("--config", metavar="FILE",
                        help="config file (default: [tool.connbudget] in pyproject.toml or "
                             ".connbudget.toml, found walking up from the first path)")


def _add_capacity_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--var-file", action="append", default=[], metavar="FILE",
                        help="Terraform variables file (repeatable)")
    parser.add_argument("--threshold", type=float, default=None,
                        help="alert threshold as a fraction of usable slots (default 0.8)")
    parser.add_argument("--no-cache", action="store_true",
                        help="do not read or write the parsed-file cache")


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    import argparse

    parser = argparse.ArgumentParser(
        prog="connbudget",
        description="Check PostgreSQL role limits and connection budgets before they page you.",
    )
    parser.add_argument("--version", action="version", version=f"connbudget {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    scan = sub.add_parser("scan", help="run every check that applies to the files found")
    scan.add_argument("paths", nargs="*", default=["."], metavar="PATH")
    _add_output_options(scan)
    _add_capacity_options(scan)

    sql = sub.add_parser("sql", help="check CREATE/ALTER ROLE statements in SQL migrations")
    sql.add_argument("paths", nargs="+", metavar="PATH")
    _add_output_options(sql)

    capacity = sub.add_parser("capacity", help="compute the connection budget of every database")
    capacity.add_argument("paths", nargs="+", metavar="PATH")
    _add_output_options(capacity)
    _add_capacity_options(capacity)

    sql2json = sub.add_parser("sql2json", help="print role statements as JSON for Conftest")
    sql2json.add_argument("paths", nargs="+", metavar="PATH")
    sql2json.add_argument("--combined", action="store_true",
                          help="one document with every statement and the final role states")
    sql2json.add_argument("--output", "-o", metavar="FILE", help="write the JSON to FILE")

    sub.add_parser("checks-dir",
                   help="print the directory to pass to checkov --external-checks-dir")
    rules = sub.add_parser("rules", help="list the rule catalogue")
    rules.add_argument("--format", "-f", choices=("text", "json", "markdown"), default="text")
    return parser, dict(sub.choices)


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

    return load_settings(args)


def _emit(text: str, output: str | None) -> None:
    if output:
        with open(output, "w", encoding="utf-8") as handle:
            handle.write(text)
    else:
        sys.stdout.write(text)


def _check(args: argparse.Namespace, engine: Callable[[Inputs, Settings], Report]) -> int:
    from connbudget.confine import scan_roots
    from connbudget.discover import discover
    from connbudget.reporters import render, resolve_format
    from connbudget.reporters._common import workflow_safe
    from connbudget.suppress import apply_suppressions

    settings = _settings(args)
    with scan_roots(args.paths):
        inputs = discover(args.paths, settings.exclude, settings.exclude_root)
        report = apply_suppressions(engine(inputs, settings), settings, inputs,
                                    args.command).sorted()
    fmt = resolve_format(args.format, args.output)
    _emit(render(report, fmt, settings), args.output)
    if fmt != "text" and args.output is None:
        # Machine formats own stdout; errors still reach a human on stderr, one line each,
        # never a workflow command (GitHub Actions reads those from stderr too).
        for error in report.errors:
            print(workflow_safe(str(error)), file=sys.stderr)
    return report.exit_code(settings.fail_on)


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

    from connbudget.confine import scan_roots
    from connbudget.frontends.sql import read_sql
    from connbudget.reporters._common import workflow_safe

    with scan_roots(args.paths):
        result = read_sql(args.paths)
    payload = result.combined() if args.combined else result.documents
    _emit(json.dumps(payload, indent=2) + "\n", args.output)
    for error in result.errors:
        print(workflow_safe(str(error)), file=sys.stderr)
    return 2 if result.errors else 0


def _cmd_checks_dir(args: argparse.Namespace) -> int:
    from connbudget.resources import checks_dir

    print(checks_dir())
    return 0


def _cmd_rules(args: argparse.Namespace) -> int:
    from connbudget.reporters.catalogue import render_catalogue

    sys.stdout.write(render_catalogue(args.format))
    return 0


COMMANDS = {
    "scan": _cmd_scan,
    "sql": _cmd_sql,
    "capacity": _cmd_capacity,
    "sql2json": _cmd_sql2json,
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
    try:
        return COMMANDS[args.command](args)
    except UsageError as exc:
        from connbudget.reporters._common import printable

        print(f"connbudget: {printable(str(exc))}", file=sys.stderr)
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
        gc.set_threshold(*threshold)
