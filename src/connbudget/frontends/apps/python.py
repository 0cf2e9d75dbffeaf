"""Python applications: gunicorn config files, Django settings, SQLAlchemy engines and
Flask-SQLAlchemy configuration, read with Python's `ast` (never executed).

Which files are read, so that a large repository is not parsed whole:
- `gunicorn*.py` (gunicorn.conf.py, gunicorn_config.py, ...): workers, threads, worker_class,
  worker_connections at module level;
- Django settings: `settings.py`, or any module of a `settings/` package, whose first
  HEAD_BYTES mention DATABASES;
- any other module whose first HEAD_BYTES mention `create_engine` or `SQLALCHEMY_`: each
  `create_engine` / `create_async_engine` call, and `SQLALCHEMY_ENGINE_OPTIONS` /
  `SQLALCHEMY_DATABASE_URI` at module level or in a config class.
Tests, migrations and dependencies are skipped.

A value is a number, `os.environ.get("X", 5)` / `os.getenv` / `os.environ["X"]` / `int(...)`,
`multiprocessing.cpu_count()` / `os.cpu_count()`, arithmetic, `max`/`min`, or a module-level
name bound to one of these; anything else is Unknown with its line.
"""

from __future__ import annotations

import ast
import io
import os
import tokenize

from connbudget import confine
from connbudget.comments import Comment, may_suppress
from connbudget.errors import InputError
from connbudget.frontends.apps import defaults
from connbudget.frontends.apps.claims import is_django_settings as _is_settings
from connbudget.frontends.apps.model import (
    Const,
    Cpu,
    Env,
    Expr,
    FileResult,
    Insert,
    Op,
    Pool,
    Server,
    Setting,
    Span,
    Target,
    Unknown,
    Variant,
    redacted,
)
from connbudget.frontends.apps.source import Source, read

_OPS: dict[type[ast.operator], str] = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*",
                                       ast.FloorDiv: "//"}
_ASYNC_WORKERS = ("gevent", "eventlet")



def read_file(path: str) -> FileResult:
    source = read(path)
    if isinstance(source, InputError):
        return FileResult(path, errors=[source])
    result = FileResult(path, comments=_comments(source))
    try:
        tree = ast.parse(source.text, filename=path)
    except SyntaxError as error:
        result.errors.append(InputError(path, error.lineno or 1, "invalid Python syntax",
                                        error.offset))
        return result
    except (ValueError, RecursionError, MemoryError):
        result.errors.append(InputError(path, 1, "Python source that cannot be parsed"))
        return result
    reader = _Module(source, tree)
    if os.path.basename(path).startswith("gunicorn"):
        result.servers.append(reader.gunicorn())
    if _is_settings(path):
        result.pools.extend(reader.django())
    result.pools.extend(reader.engines())
    result.pools.extend(reader.flask())
    return result


def _comments(source: Source) -> list[Comment]:
    if not may_suppress(source.text):
        return []
    found: list[Comment] = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(source.text).readline):
            if token.type == tokenize.COMMENT and may_suppress(token.string):
                row, column = token.start
                found.append(Comment(source.file, row, column + 1, token.string))
    except (tokenize.TokenError, SyntaxError):
        pass
    return found


class _Module:
    def __init__(self, source: Source, tree: ast.Module) -> None:
        self.source = source
        self.tree = tree
        self.names: dict[str, ast.expr] = {}
        self.assigned: dict[str, ast.Assign | ast.AnnAssign] = {}
        for statement in tree.body:
            for name, value in _bindings(statement):
                self.names[name] = value
                if isinstance(statement, (ast.Assign, ast.AnnAssign)):
                    self.assigned[name] = statement

    def span(self, node: ast.AST) -> Span:
        end_line = getattr(node, "end_lineno", None) or node.lineno  # type: ignore[attr-defined]
        end_col = getattr(node, "end_col_offset", None)
        return self.source.byte_span(node.lineno - 1, node.col_offset,  # type: ignore[attr-defined]
                                     end_line - 1, end_col if end_col is not None else
                                     node.col_offset)  # type: ignore[attr-defined]

    # -------------------------------------------------------------- expressions

    def expr(self, node: ast.expr, depth: int = 0) -> Expr:
        at = self.span(node)
        if depth > 20:
            return Unknown("names defined through too many other names", at)
        if isinstance(node, ast.Constant):
            if type(node.value) is int:
                return Const(node.value, at)
            if isinstance(node.value, str) and node.value.strip().isdigit():
                return Const(int(node.value), at)
            return Unknown("not a whole number", at)
        if isinstance(node, ast.Name):
            if node.id in self.names:
                return self.expr(self.names[node.id], depth + 1)
            return Unknown("a name not set in this module", at)
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            return Op(_OPS[type(node.op)], (self.expr(node.left, depth + 1),  # type: ignore[arg-type]
                                            self.expr(node.right, depth + 1)), at)
        if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or) and len(node.values) == 2:
            left = self.expr(node.values[0], depth + 1)
            if isinstance(left, Env) and left.default is None:
                return Env(left.name, self.expr(node.values[1], depth + 1), at, True)
            return Unknown("`or` whose left side is not an environment variable", at)
        if isinstance(node, ast.Subscript):
            name = _environ_key(node)
            return Env(name, None, at) if name else Unknown("an index that is not os.environ", at)
        if isinstance(node, ast.Call):
            return self._call(node, at, depth)
        return Unknown("a Python expression that cannot be evaluated statically", at)

    def _call(self, node: ast.Call, at: Span, depth: int) -> Expr:
        name = _dotted(node.func)
        if name in ("int", "round") and len(node.args) == 1:
            return self.expr(node.args[0], depth + 1)
        if name in ("max", "min") and node.args and not node.keywords:
            return Op(name, tuple(self.expr(arg, depth + 1) for arg in node.args), at)  # type: ignore[arg-type]
        if name in ("multiprocessing.cpu_count", "os.cpu_count", "cpu_count",
                    "psutil.cpu_count", "os.process_cpu_count"):
            logical = next((kw.value for kw in node.keywords if kw.arg == "logical"), None)
            physical = isinstance(logical, ast.Constant) and logical.value is False
            return Cpu(physical, at)
        if name == "len" and len(node.args) == 1 and isinstance(node.args[0], ast.Call) \
                and _dotted(node.args[0].func) == "os.sched_getaffinity":
            return Cpu(False, at)
        env = _env_call(node)
        if env is not None:
            variable, default = env
            return Env(variable, self.expr(default, depth + 1) if default is not None else None,
                       at)
        return Unknown("a Python call that cannot be evaluated statically", at)

    def target(self, node: ast.expr | None) -> Target:
        if node is None:
            return Target(None)
        at = self.span(node)
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return Target(redacted(node.value), (), at)
        if isinstance(node, ast.Name) and node.id in self.names:
            return self.target(self.names[node.id])
        found = _environ_key(node) if isinstance(node, ast.Subscript) else None
        if isinstance(node, ast.Call):
            env = _env_call(node)
            found = env[0] if env else None
            if _dotted(node.func) in ("dj_database_url.config", "dj_database_url.parse",
                                      "config") and not found:
                keyword = next((kw.value for kw in node.keywords if kw.arg == "env"), None)
                found = keyword.value if isinstance(keyword, ast.Constant) \
                    and isinstance(keyword.value, str) else "DATABASE_URL"
        if isinstance(node, ast.JoinedStr):
            names = [name for value in node.values if isinstance(value, ast.FormattedValue)
                     for name in [self._env_of(value.value)] if name]
            return Target(None, tuple(names), at)
        return Target(None, (found,) if found else (), at)

    def _env_of(self, node: ast.expr) -> str | None:
        expr = self.expr(node)
        return expr.name if isinstance(expr, Env) else None

    # -------------------------------------------------------------- gunicorn

    def gunicorn(self) -> Server:
        end = self.source.end_line()

        def setting(name: str, library_default: Expr) -> Setting:
            node = self.names.get(name)
            value = self.expr(node) if node is not None else None
            return Setting(name, value, library_default, self.span(node) if node else None,
                           None if node else Insert(self.source.file, end, 1,
                                                    f"{name} = {{value}}\n"))

        model_node = self.names.get("worker_class")
        model = model_node.value if isinstance(model_node, ast.Constant) \
            and isinstance(model_node.value, str) else ("sync" if model_node is None else None)
        threads = setting("threads", defaults.default("gunicorn", "threads"))
        if model is not None and any(kind in model for kind in _ASYNC_WORKERS):
            threads = setting("worker_connections",
                              defaults.default("gunicorn", "worker_connections"))
        workers = setting("workers", defaults.default("gunicorn", "workers"))
        return Server("gunicorn", workers, threads, model, self.source.file,
                      self.source.span(0, 0, 0, 0))

    # -------------------------------------------------------------- Django

    def django(self) -> list[Pool]:
        node = self.names.get("DATABASES")
        if not isinstance(node, ast.Dict):
            return []
        variant = _settings_variant(self.source.file)
        pools: list[Pool] = []
        for key, value in zip(node.keys, node.values, strict=True):
            if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
                continue
            pool = self._django_alias(key.value, key, value, variant)
            if pool is not None:
                pools.append(pool)
        return pools

    def _django_alias(self, alias: str, key: ast.expr, value: ast.expr,
                      variant: Variant) -> Pool | None:
        config = _dict(value)
        if config is None:  # dj_database_url.config(...) and the like
            return Pool("django", alias, (_per_thread(),), "thread", self.target(value),
                        self.source.file, self.span(key), variant)
        engine = config.get("ENGINE")
        if isinstance(engine, ast.Constant) and isinstance(engine.value, str) \
                and "postg" not in engine.value:
            return None
        options = _dict(config["OPTIONS"]) if "OPTIONS" in config else None
        pool_option = options.get("pool") if options else None
        host = config.get("HOST")
        target = self.target(host) if host is not None else Target(None, ("PGHOST",))
        if pool_option is None or (isinstance(pool_option, ast.Constant)
                                   and not pool_option.value):
            return Pool("django", alias, (_per_thread(),), "thread", target, self.source.file,
                        self.span(key), variant)
        sizes = _dict(pool_option) or {}
        minimum = sizes.get("min_size")
        maximum = sizes.get("max_size")
        default = self.expr(minimum) if minimum is not None \
            else defaults.default("psycopg_pool", "min_size")
        insert = None
        if maximum is None and isinstance(pool_option, ast.Dict):
            insert = self._dict_insert(pool_option, '"max_size": {value}')
        setting = Setting('OPTIONS["pool"]["max_size"]',
                          self.expr(maximum) if maximum is not None else None, default,
                          self.span(maximum) if maximum is not None else None, insert)
        return Pool("psycopg_pool", alias, (setting,), "process", target, self.source.file,
                    self.span(key), variant)

    def _dict_insert(self, node: ast.Dict, text: str) -> Insert:
        """After the last entry of a dict literal (or inside an empty one)."""
        if node.values:
            last = self.span(node.values[-1])
            return Insert(self.source.file, last.end_line, last.end_column, ", " + text)
        at = self.span(node)
        return Insert(self.source.file, at.line, at.column + 1, text)

    # -------------------------------------------------------------- SQLAlchemy

    def engines(self) -> list[Pool]:
        pools: list[Pool] = []
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Call) and _dotted(node.func).split(".")[-1] in (
                    "create_engine", "create_async_engine"):
                pools.append(self._engine(node))
        return pools

    def _engine(self, call: ast.Call) -> Pool:
        keywords = {kw.arg: kw.value for kw in call.keywords if kw.arg}
        url = call.args[0] if call.args else keywords.get("url")
        last = max((self.span(item) for item in [*call.args, *(kw.value for kw in call.keywords)]),
                   key=lambda span: (span.end_line, span.end_column), default=None)
        poolclass = keywords.get("poolclass")
        settings = tuple(self._engine_setting(name, keywords.get(name), last)
                         for name in ("pool_size", "max_overflow"))
        if poolclass is not None and _dotted(poolclass).split(".")[-1] in ("NullPool",
                                                                          "StaticPool"):
            unknown = Unknown("a pool class that opens connections as they are asked for",
                              self.span(poolclass))
            settings = (Setting("poolclass", unknown, unknown, self.span(poolclass)),)
        return Pool("sqlalchemy", _engine_name(call, self.tree), settings, "process",
                    self.target(url), self.source.file, self.span(call))

    def _engine_setting(self, name: str, node: ast.expr | None, last: Span | None) -> Setting:
        default = defaults.default("sqlalchemy", name)
        if node is not None:
            return Setting(name, self.expr(node), default, self.span(node))
        insert = Insert(self.source.file, last.end_line, last.end_column,
                        f", {name}={{value}}") if last is not None else None
        return Setting(name, None, default, None, insert)

    def flask(self) -> list[Pool]:
        """SQLALCHEMY_ENGINE_OPTIONS / SQLALCHEMY_DATABASE_URI at module level or in each
        config class (Flask-SQLAlchemy passes the options to create_engine)."""
        scopes: list[tuple[str, dict[str, ast.expr], Span]] = []
        if any(name.startswith("SQLALCHEMY_") for name in self.names):
            scopes.append(("SQLALCHEMY_ENGINE_OPTIONS", self.names,
                           self.source.span(0, 0, 0, 0)))
        classes: dict[str, dict[str, ast.expr]] = {}
        for statement in self.tree.body:
            if isinstance(statement, ast.ClassDef):
                own: dict[str, ast.expr] = {}
                for base in statement.bases:  # a config class inherits its bases' settings
                    own.update(classes.get(_dotted(base), {}))
                own.update(binding for item in statement.body for binding in _bindings(item))
                classes[statement.name] = own
                if any(name.startswith("SQLALCHEMY_") for name in own):
                    scopes.append((statement.name, own, self.span(statement)))
        return [self._flask_pool(name, scope, at) for name, scope, at in scopes]

    def _flask_pool(self, name: str, scope: dict[str, ast.expr], at: Span) -> Pool:
        options = scope.get("SQLALCHEMY_ENGINE_OPTIONS")
        entries = _dict(options) if options is not None else None
        settings = []
        for key, legacy in (("pool_size", "SQLALCHEMY_POOL_SIZE"),
                            ("max_overflow", "SQLALCHEMY_MAX_OVERFLOW")):
            node = (entries or {}).get(key) or scope.get(legacy)
            default = defaults.default("sqlalchemy", key)
            insert = self._dict_insert(options, f'"{key}": {{value}}') \
                if node is None and isinstance(options, ast.Dict) else None
            settings.append(Setting(f'SQLALCHEMY_ENGINE_OPTIONS["{key}"]',
                                    self.expr(node) if node is not None else None, default,
                                    self.span(node) if node is not None else None, insert))
        return Pool("sqlalchemy", name, tuple(settings), "process",
                    self.target(scope.get("SQLALCHEMY_DATABASE_URI")), self.source.file, at)


def _per_thread() -> Setting:
    return Setting("connection per thread", None,
                   defaults.default("django", "connection per thread"))


def _settings_variant(path: str) -> Variant:
    """Django settings apply when DJANGO_SETTINGS_MODULE names them; a lone settings.py is
    taken to be the one the project's manage.py and wsgi.py name when it is unset."""
    parts = os.path.normpath(path).replace("\\", "/").split("/")
    module = [parts[-1][:-3]]
    directory = os.path.dirname(path)
    while directory and confine.outside(directory, [path]) is None \
            and confine.is_regular(os.path.join(directory, "__init__.py")):
        module.insert(0, os.path.basename(directory))
        directory = os.path.dirname(directory)
    name = ".".join(part for part in module if part != "__init__")
    if parts[-1] == "settings.py":
        return Variant(("DJANGO_SETTINGS_MODULE",), name, name)
    return Variant(("DJANGO_SETTINGS_MODULE",), name, None)


def _bindings(statement: ast.stmt) -> list[tuple[str, ast.expr]]:
    if isinstance(statement, ast.Assign) and len(statement.targets) == 1 \
            and isinstance(statement.targets[0], ast.Name):
        return [(statement.targets[0].id, statement.value)]
    if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name) \
            and statement.value is not None:
        return [(statement.target.id, statement.value)]
    return []


def _dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""


def _environ_key(node: ast.Subscript) -> str | None:
    if _dotted(node.value) in ("os.environ", "environ") and isinstance(node.slice, ast.Constant) \
            and isinstance(node.slice.value, str):
        return node.slice.value
    return None


def _env_call(node: ast.Call) -> tuple[str, ast.expr | None] | None:
    """(variable, default) of os.environ.get / os.getenv / environ.get, django-environ's
    env.int("X", default=5) and python-decouple's config("X", default=5, cast=int)."""
    name = _dotted(node.func)
    if name not in ("os.environ.get", "os.getenv", "environ.get", "getenv", "env.int",
                    "env", "config"):
        return None
    first = node.args[0] if node.args else None
    if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
        return None
    keyword = next((kw.value for kw in node.keywords if kw.arg == "default"), None)
    default = node.args[1] if len(node.args) > 1 else keyword
    return first.value, default


def _dict(node: ast.expr | None) -> dict[str, ast.expr] | None:
    if isinstance(node, ast.Dict):
        return {key.value: value for key, value in zip(node.keys, node.values, strict=True)
                if isinstance(key, ast.Constant) and isinstance(key.value, str)}
    if isinstance(node, ast.Call) and _dotted(node.func) == "dict" and not node.args:
        return {kw.arg: kw.value for kw in node.keywords if kw.arg}
    return None


def _engine_name(call: ast.Call, tree: ast.Module) -> str:
    """The name an engine is bound to (`engine = create_engine(...)`), else `create_engine`."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and node.value is call and len(node.targets) == 1:
            target = node.targets[0]
            name = _dotted(target) if isinstance(target, (ast.Name, ast.Attribute)) else ""
            if name:
                return name
    return _dotted(call.func).split(".")[-1]

