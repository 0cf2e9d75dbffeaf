"""Server processes and threads from a command line (a compose `command`, a Kubernetes
container's `args`, a Procfile line): gunicorn `-w`/`--workers`, `--threads`, `-k`/
`--worker-class`; puma `-w`, `-t min:max`; sidekiq `-c`/`--concurrency` (and `-C` naming its
config file); celery `worker -c`/`--concurrency`, `-P`/`--pool` (prefork: each process its
own pools). What a flag does not say keeps the library default; a config file a flag names is
returned for the caller to read.
"""

from __future__ import annotations

from collections.abc import Sequence

from connbudget.frontends.apps import defaults
from connbudget.frontends.apps.model import Const, Expr, Server, Setting, Span, Unknown
from connbudget.frontends.apps.rails import one_process

_FLAGS = {
    "gunicorn": {"-w": "workers", "--workers": "workers", "--threads": "threads",
                 "-k": "model", "--worker-class": "model", "-c": "config", "--config": "config"},
    "puma": {"-w": "workers", "--workers": "workers", "-t": "threads", "--threads": "threads",
             "-C": "config", "--config": "config"},
    "sidekiq": {"-c": "threads", "--concurrency": "threads", "-C": "config",
                "--config": "config"},
    "celery": {"-c": "threads", "--concurrency": "threads", "-P": "model", "--pool": "model"},
}


def _options(words: Sequence[str], flags: dict[str, str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for index, word in enumerate(words):
        flag, equals, value = word.partition("=")
        if flag in flags:
            if not equals:
                value = words[index + 1] if index + 1 < len(words) else ""
            found[flags[flag]] = value
        elif len(word) > 2 and word[:2] in flags and not word.startswith("--"):
            found[flags[word[:2]]] = word[2:]  # -w4
    return found


def _number(text: str | None, at: Span) -> Expr | None:
    if text is None:
        return None
    text = text.split(":")[-1]  # puma -t 0:16
    return Const(int(text), at) if text.isdigit() else Unknown("a flag that is not a number", at)


def server_from_command(words: Sequence[str], at: Span) -> tuple[Server | None, str | None]:
    """The server a command runs, and the config file a flag names (None when none)."""
    kind = next((name for name in _FLAGS
                 if any(word == name or word.endswith("/" + name) for word in words)), None)
    if kind is None:
        return None, None
    options = _options(words, _FLAGS[kind])
    model = options.get("model")
    if kind == "gunicorn":
        processes = Setting("--workers", _number(options.get("workers"), at),
                            defaults.default("gunicorn", "workers"))
        threads = Setting("--threads", _number(options.get("threads"), at),
                          defaults.default("gunicorn", "threads"))
        model = model or "sync"
    elif kind == "puma":
        processes = Setting("-w", _number(options.get("workers"), at),
                            defaults.default("puma", "workers"))
        threads = Setting("-t", _number(options.get("threads"), at),
                          defaults.default("puma", "threads"))
    elif kind == "sidekiq":
        processes = one_process("sidekiq")
        threads = Setting("-c", _number(options.get("threads"), at),
                          defaults.default("sidekiq", "concurrency"))
    else:
        model = model or "prefork"
        count = Setting("--concurrency", _number(options.get("threads"), at),
                        defaults.default("celery", "concurrency"))
        if model == "prefork":
            one = Const(1, None, "one thread per prefork process")
            processes, threads = count, Setting("threads", one, one)
        else:
            processes, threads = one_process("celery"), count
    return Server(kind, processes, threads, model, at.file, at), options.get("config")
