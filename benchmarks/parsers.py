"""The HCL parsers measured side by side on the same files, one whole process per parser.

    python benchmarks/parsers.py PARSER LISTFILE    (the child: parses, prints JSON)

`run.py` calls `table(...)`. Each child reads the files named in LISTFILE, parses each
whole file into the parser's own tree, and prints the seconds spent parsing (grammar loading
is timed apart) and the files the parser refused. Peak memory is the child's, from wait4().
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

PARSERS = {
    "python-hcl2": "python-hcl2 7.x (lark, pure Python)",
    "python-hcl2+lark-cython": "python-hcl2 7.x with lark-cython",
    "tree-sitter-hcl": "tree-sitter-hcl 1.2 (C) on tree-sitter 0.26",
}


def _python_hcl2(cython: bool) -> Any:
    from hcl2.parser import parser

    if not cython:
        grammar = parser()
        return lambda text: grammar.parse(text.decode("utf-8-sig").replace("\r\n", "\n") + "\n")
    import hcl2.parser
    import lark_cython
    from lark import Lark

    grammar = Lark.open("hcl2.lark", parser="lalr", rel_to=hcl2.parser.__file__,
                        propagate_positions=True, _plugins=lark_cython.plugins)
    return lambda text: grammar.parse(text.decode("utf-8-sig").replace("\r\n", "\n") + "\n")


def _tree_sitter() -> Any:
    import tree_sitter
    import tree_sitter_hcl

    grammar = tree_sitter.Parser(tree_sitter.Language(tree_sitter_hcl.language()))

    def parse(text: bytes) -> None:
        if grammar.parse(text.removeprefix(b"\xef\xbb\xbf")).root_node.has_error:
            raise ValueError("syntax error")

    return parse


def _child(parser: str, listfile: str) -> None:
    texts = [Path(name).read_bytes() for name in Path(listfile).read_text().splitlines()]
    start = time.perf_counter()
    try:
        parse = _tree_sitter() if parser == "tree-sitter-hcl" \
            else _python_hcl2(parser.endswith("lark-cython"))
    except ImportError as exc:
        print(json.dumps({"missing": exc.name}))
        return
    loaded = time.perf_counter()
    refused = 0
    for text in texts:
        try:
            parse(text)
        except Exception:  # each parser raises its own errors
            refused += 1
    print(json.dumps({"load": loaded - start, "parse": time.perf_counter() - loaded,
                      "refused": refused}))


def _measure(parser: str, listfile: Path) -> dict[str, Any]:
    proc = subprocess.Popen([sys.executable, __file__, parser, str(listfile)],
                            stdout=subprocess.PIPE)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, _, usage = os.wait4(proc.pid, 0)
    result: dict[str, Any] = json.loads(out)
    result["peak_mib"] = usage.ru_maxrss / 1024
    return result


def table(sets: dict[str, list[Path]], scratch: Path) -> str:
    """The parsers on each set of files: parse time, grammar load time, refused files, peak
    memory."""
    rows = ["| parser | files | parse | load grammar | refused | peak memory |",
            "|---|---|---|---|---|---|"]
    for name, files in sets.items():
        listfile = scratch / f"{name.replace(' ', '-')}.list"
        listfile.write_text("\n".join(str(path) for path in files), encoding="utf-8")
        for parser, label in PARSERS.items():
            result = _measure(parser, listfile)
            if "missing" in result:
                rows.append(f"| {label} | {name} | not installed ({result['missing']}) "
                            "| | | |")
                continue
            rows.append(f"| {label} | {name} ({len(files):,}) | {result['parse']:.2f} s "
                        f"| {result['load']:.2f} s | {result['refused']} "
                        f"| {result['peak_mib']:.0f} MiB |")
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    _child(sys.argv[1], sys.argv[2])
