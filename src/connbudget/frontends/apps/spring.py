"""Spring Boot: `application.properties` / `application.yml` / `.yaml` and their profile files
`application-<profile>.*`.

Each file is flattened to property keys (`spring.datasource.hikari.maximum-pool-size`) with the
span of every value. A profile file, or a YAML document with `spring.config.activate.
on-profile`, overrides the base settings when SPRING_PROFILES_ACTIVE names that profile; so a
pool is yielded for the base settings (ALWAYS) and one per profile with the profile's settings
applied over the base ones.

Every datasource is its own pool: `spring.datasource` (HikariCP, the Spring Boot default),
each `<prefix>.datasource.<name>` group with a `url` or `jdbc-url`, and Flyway or Liquibase
when they have a URL or user of their own (Spring Boot then opens an unpooled datasource for
the migration, while the process starts). Keys match with Spring's relaxed binding
(`maximumPoolSize`, `maximum-pool-size`, `maximum_pool_size`); the environment variable of a
key (SPRING_DATASOURCE_HIKARI_MAXIMUMPOOLSIZE) overrides the files. Values may use
`${NAME:default}` placeholders, nested.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from connbudget.comments import Comment, may_suppress, whole_line_comments
from connbudget.errors import InputError
from connbudget.frontends.apps import defaults
from connbudget.frontends.apps.claims import SPRING_NAME as _NAME
from connbudget.frontends.apps.model import (
    ALWAYS,
    Const,
    Env,
    Expr,
    FileResult,
    Insert,
    Pool,
    Setting,
    Span,
    Target,
    Unknown,
    Variant,
    redacted,
)
from connbudget.frontends.apps.source import Source, read
from connbudget.frontends.apps.yamlspans import YMap, YNode, YSeq, load

PROFILES = "SPRING_PROFILES_ACTIVE"
_POOL_KEY = ("hikari", "maximumpoolsize")



@dataclass(frozen=True)
class Prop:
    key: str
    value: str
    at: Span  # the value
    key_at: Span
    plain: bool = True


@dataclass
class Doc:
    """One set of properties: a properties file, or one YAML document."""

    file: str
    profile: str | None
    props: dict[str, Prop]  # by normalized key
    maps: dict[tuple[str, ...], YMap]  # YAML mappings by normalized path, for insertion
    end_line: int
    yaml: bool


def _norm(key: str) -> str:
    return ".".join(part.lower().replace("-", "").replace("_", "") for part in key.split("."))


def env_name(key: str) -> str:
    """The environment variable of a property key (Spring Boot relaxed binding: dots to
    underscores, dashes removed, upper case)."""
    return key.replace(".", "_").replace("-", "").replace("[", "_").replace("]", "_").upper()


# ---------------------------------------------------------------- properties files

_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}


def _properties(source: Source) -> tuple[dict[str, Prop], list[InputError]]:
    """java.util.Properties.load: comments `#`/`!`, `=`/`:`/blank separators, continuation
    lines ending in an odd number of backslashes, escapes; each value with its span."""
    props: dict[str, Prop] = {}
    lines = source.lines
    index = 0
    while index < len(lines):
        raw = lines[index].rstrip("\r")
        start_row = index
        body = raw.lstrip(" \t\f")
        index += 1
        if not body or body[0] in "#!":
            continue
        logical = [(start_row, len(raw) - len(body), body)]
        while _continues(logical[-1][2]) and index < len(lines):
            nxt = lines[index].rstrip("\r")
            stripped = nxt.lstrip(" \t\f")
            logical.append((index, len(nxt) - len(stripped), stripped))
            index += 1
        key, value, value_start, key_end = _split_logical(logical)
        first_row, first_col = value_start
        last_row, last_col, last_text = logical[-1]
        end_col = last_col + len(last_text.rstrip("\\")) if _continues(last_text) \
            else last_col + len(last_text)
        if (last_row, end_col) < value_start:
            end_col = first_col
            last_row = first_row
        props[_norm(key)] = Prop(key, value, source.span(first_row, first_col, last_row, end_col),
                                 source.span(start_row, logical[0][1], start_row, key_end))
    return props, []


def _continues(text: str) -> bool:
    return (len(text) - len(text.rstrip("\\"))) % 2 == 1


def _split_logical(logical: list[tuple[int, int, str]]) -> tuple[str, str, tuple[int, int], int]:
    """Key and value text of one logical line, the value's (row, column) and the key's end
    column."""
    row, column, text = logical[0]
    key: list[str] = []
    position = 0
    while position < len(text):
        char = text[position]
        if char == "\\" and position + 1 < len(text):
            key.append(_unescape(text[position + 1]))
            position += 2
            continue
        if char in "=: \t\f":
            break
        key.append(char)
        position += 1
    key_end = column + position
    while position < len(text) and text[position] in " \t\f":
        position += 1
    if position < len(text) and text[position] in "=:":
        position += 1
        while position < len(text) and text[position] in " \t\f":
            position += 1
    value_start = (row, column + position)
    pieces = [text[position:]] + [piece for _, _, piece in logical[1:]]
    value: list[str] = []
    for number, piece in enumerate(pieces):
        if number < len(pieces) - 1:
            piece = piece[:-1]  # the continuation backslash
        value.append(_unescape_all(piece))
    return "".join(key), "".join(value), value_start, key_end


def _unescape(char: str) -> str:
    return _ESCAPES.get(char, char)


def _unescape_all(text: str) -> str:
    out: list[str] = []
    position = 0
    while position < len(text):
        char = text[position]
        if char == "\\" and position + 1 < len(text):
            nxt = text[position + 1]
            if nxt == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", text[position + 2:position + 6]):
                out.append(chr(int(text[position + 2:position + 6], 16)))
                position += 6
                continue
            out.append(_unescape(nxt))
            position += 2
            continue
        out.append(char)
        position += 1
    return "".join(out)


# ---------------------------------------------------------------- YAML files

def _flatten(node: YNode, path: tuple[str, ...], raw: tuple[str, ...], props: dict[str, Prop],
             maps: dict[tuple[str, ...], YMap], key_at: Span) -> None:
    if isinstance(node, YMap):
        maps[path] = node
        for key, entry in node.entries.items():
            parts = tuple(part for part in key.split(".") if part)
            _flatten(entry.value, path + tuple(_norm(part) for part in parts), raw + parts,
                     props, maps, entry.key_span)
    elif isinstance(node, YSeq):
        for number, item in enumerate(node.items):
            _flatten(item, path[:-1] + (f"{path[-1]}[{number}]",) if path else (str(number),),
                     raw[:-1] + (f"{raw[-1]}[{number}]",) if raw else (str(number),),
                     props, maps, key_at)
    elif path:
        props[".".join(path)] = Prop(".".join(raw), node.value, node.span, key_at, node.plain)


def _yaml_docs(source: Source, profile: str | None) -> tuple[list[Doc], list[InputError]]:
    documents, errors = load(source.text, source.file)
    docs: list[Doc] = []
    for document in documents:
        props: dict[str, Prop] = {}
        maps: dict[tuple[str, ...], YMap] = {}
        if isinstance(document, YMap):
            _flatten(document, (), (), props, maps, document.span)
        own = props.get("spring.config.activate.onprofile") or props.get("spring.profiles")
        docs.append(Doc(source.file, own.value.strip() if own else profile, props, maps,
                        source.end_line(), True))
    return docs, errors


def read_docs(path: str) -> tuple[list[Doc], list[InputError], list[Comment]]:
    source = read(path)
    if isinstance(source, InputError):
        return [], [source], []
    found = _NAME.match(os.path.basename(path))
    profile = found.group(1) if found else None
    comments = whole_line_comments(path, source.text, ("#", "!")) \
        if may_suppress(source.text) else []
    if path.endswith(".properties"):
        props, errors = _properties(source)
        return [Doc(path, profile, props, {}, source.end_line(), False)], errors, comments
    docs, errors = _yaml_docs(source, profile)
    return docs, errors, comments


# ---------------------------------------------------------------- values

def _placeholder_expr(text: str, at: Span, props: dict[str, Prop], depth: int = 0) -> Expr:
    """A property value as a number: digits, or `${NAME:default}` (nested), where NAME is
    another property of the same files or an environment variable."""
    text = text.strip()
    if text.isdigit():
        return Const(int(text), at)
    if depth > 10:
        return Unknown("placeholders nested too deeply", at)
    if text.startswith("${") and text.endswith("}") and _closing(text, 1) == len(text) - 1:
        inner = text[2:-1]
        name, default_text = _split_default(inner)
        default = _placeholder_expr(default_text, at, props, depth + 1) \
            if default_text is not None else None
        referenced = props.get(_norm(name))
        if referenced is not None:
            return _placeholder_expr(referenced.value, referenced.at, props, depth + 1)
        return Env(_placeholder_env(name), default, at)
    return Unknown("not a number or a ${...} placeholder", at)


def _closing(text: str, open_at: int) -> int:
    depth = 0
    for position in range(open_at, len(text)):
        if text[position] == "{":
            depth += 1
        elif text[position] == "}":
            depth -= 1
            if depth == 0:
                return position
    return -1


def _split_default(inner: str) -> tuple[str, str | None]:
    depth = 0
    for position, char in enumerate(inner):
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
        elif char == ":" and depth == 0:
            return inner[:position], inner[position + 1:]
    return inner, None


def _placeholder_env(name: str) -> str:
    """The environment variable Spring's SystemEnvironmentPropertySource finds for a
    placeholder name: as written, else with dots and dashes as underscores, upper case."""
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        return name
    return re.sub(r"[.\-]", "_", name).upper()


def _env_in(text: str) -> tuple[str, ...]:
    names: list[str] = []
    position = text.find("${")
    while position >= 0:
        end = _closing(text, position + 1)
        if end < 0:
            break
        name, _ = _split_default(text[position + 2:end])
        names.append(_placeholder_env(name))
        position = text.find("${", end)
    return tuple(names)


# ---------------------------------------------------------------- datasources

@dataclass(frozen=True)
class _Group:
    name: str  # as written, e.g. spring.datasource or app.datasource.reporting
    norm: str
    library: str


def _groups(props: dict[str, Prop]) -> list[_Group]:
    found: dict[str, _Group] = {}
    if any(key.startswith("spring.datasource.") for key in props):
        found["spring.datasource"] = _Group("spring.datasource", "spring.datasource", "hikaricp")
    for key, prop in props.items():
        parts = key.split(".")
        if parts[-1] in ("url", "jdbcurl") and "datasource" in parts[:-1]:
            norm = ".".join(parts[:-1])
            if norm.endswith(".hikari"):
                norm = norm[:-len(".hikari")]
            written = ".".join(prop.key.split(".")[:len(norm.split("."))])
            found.setdefault(norm, _Group(written, norm, "hikaricp"))
    for tool in ("flyway", "liquibase"):
        if any(f"spring.{tool}.{field}" in props for field in ("url", "user")):
            found[f"spring.{tool}"] = _Group(f"spring.{tool}", f"spring.{tool}", tool)
    return list(found.values())


def _is_postgres(url: Prop | None) -> bool:
    if url is None:
        return True
    text = url.value.strip().lower()
    return "postgres" in text or "${" in text or not text.startswith(("jdbc:", "r2dbc:"))


def _size_setting(group: _Group, props: dict[str, Prop], docs: list[Doc]) -> Setting:
    if group.library == "flyway":  # what Flyway holds is Flyway's, not a setting left unset
        held = defaults.default("flyway", "spring.flyway.url")
        return Setting("connections while migrating", held, held)
    if group.library == "liquibase":
        return Setting("connections while migrating", None,
                       Unknown("the connections Liquibase holds while migrating are not "
                               "documented"))
    candidates = [f"{group.norm}.hikari.maximumpoolsize", f"{group.norm}.maximumpoolsize"]
    prop = next((props[key] for key in candidates if key in props), None)
    default = defaults.default("hikaricp", "maximumPoolSize")
    kind = props.get(f"{group.norm}.type")
    written = f"{group.name}.hikari.maximum-pool-size"
    if prop is not None:
        written = prop.key
    if kind is not None and "hikari" not in kind.value.lower():
        default = Unknown(f"{group.name}.type names a pool other than HikariCP")
    value = _placeholder_expr(prop.value, prop.at, props) if prop is not None else None
    insert = None if prop is not None or group.norm != "spring.datasource" \
        else _insert(docs, props, group)
    return Setting(written, value, default, prop.at if prop is not None else None, insert,
                   env_name(written))


def _insert(docs: list[Doc], props: dict[str, Prop], group: _Group) -> Insert | None:
    """Where `spring.datasource.hikari.maximum-pool-size` goes: in the document that
    configures the datasource (else the first), nested under the YAML keys it already has."""
    url = props.get(f"{group.norm}.url")
    doc = next((doc for doc in docs if url is not None and url.at.file == doc.file
                and doc.props.get(f"{group.norm}.url") == url), docs[0])
    if not doc.yaml:
        return Insert(doc.file, doc.end_line, 1, "spring.datasource.hikari.maximum-pool-size="
                                                 "{value}\n")
    segments = ["spring", "datasource", "hikari", "maximum-pool-size"]
    for depth in range(len(segments) - 1, -1, -1):
        node = doc.maps.get(tuple(_norm(part) for part in segments[:depth]))
        if node is None or node.flow:
            continue
        indent = max(node.key_column - 1, 0) if node.key_column else 2 * depth
        lines = [" " * (indent + 2 * number) + segment + ":"
                 for number, segment in enumerate(segments[depth:])]
        lines[-1] += " {value}"
        line = node.last_line + 1 if node.last_line else node.span.line + 1
        return Insert(doc.file, line, 1, "\n".join(lines) + "\n")
    return None


def _target(group: _Group, props: dict[str, Prop], primary_url: Prop | None) -> Target:
    url = props.get(f"{group.norm}.url") or props.get(f"{group.norm}.jdbcurl") or (
        primary_url if group.library in ("flyway", "liquibase") else None)
    override = (env_name(f"{group.name}.url"),)
    if url is None:
        return Target(None, override)
    return Target(redacted(url.value.strip()), (*_env_in(url.value), *override), url.at)


def _pools(docs: list[Doc], variant: Variant) -> list[Pool]:
    props: dict[str, Prop] = {}
    for doc in docs:
        props.update(doc.props)
    pools: list[Pool] = []
    primary_url = props.get("spring.datasource.url")
    for group in _groups(props):
        url = props.get(f"{group.norm}.url") or props.get(f"{group.norm}.jdbcurl")
        if not _is_postgres(url):
            continue
        at = next(prop.key_at for key, prop in props.items()
                  if key.startswith(group.norm + "."))
        pools.append(Pool(group.library, group.name, (_size_setting(group, props, docs),),
                          "process", _target(group, props, primary_url), at.file, at, variant,
                          transient=group.library in ("flyway", "liquibase")))
    return pools


def read_group(paths: list[str]) -> FileResult:
    """The pools of one application's Spring files (base and profile files together)."""
    result = FileResult(paths[0] if paths else "")
    docs: list[Doc] = []
    for path in paths:
        found, errors, comments = read_docs(path)
        docs.extend(found)
        result.errors.extend(errors)
        result.comments.extend(comments)
    base = [doc for doc in docs if doc.profile is None]
    # application.properties before application.yml: Spring Boot loads both and the
    # properties file wins, so it is applied last
    base.sort(key=lambda doc: not doc.yaml)
    if base:
        result.pools.extend(_pools(base, ALWAYS))
    for profile in sorted({doc.profile for doc in docs if doc.profile is not None}):
        own = [doc for doc in docs if doc.profile == profile]
        own.sort(key=lambda doc: not doc.yaml)
        variant = Variant((PROFILES,), profile, None, listed=True)
        result.pools.extend(_pools([*base, *own], variant))
    return result
