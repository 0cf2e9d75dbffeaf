"""ARM templates: their resources, and the values of their properties as far as they are literal,
a parameter (from the parameters file, else its default) or a variable, or built of those with
`concat`, `format`, `string`, `int`, `toLower` and `toUpper`. Anything else (`reference`,
`resourceId`, `uniqueString`, a key vault reference) is unknown, with the resources it names
(`resourceId('<type>', <name>)`) kept, so a client can still be tied to its server.

Nested deployments (`Microsoft.Resources/deployments` with an inline `template`, as `az bicep
build` writes a module) are read as templates of their own, their parameters given by the
deployment in the outer template's scope.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from connbudget.frontends.arm.jsonpos import Node

_TOKEN = re.compile(r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>-?\d+)|(?P<name>[A-Za-z_][\w.]*)"
                    r"|(?P<sym>[(),\[\].]))")
_MAX_DEPTH = 32
_DEPLOYMENTS = "microsoft.resources/deployments"


@dataclass(frozen=True)
class Unresolved:
    """A value that is not evaluated: why, and the resources it names as (type, name)."""

    expression: str
    reason: str
    resources: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Located:
    """A value and where it is written: the node of the literal it comes from (a parameters
    file's value, a default, the template's own literal), or of the expression that builds it."""

    value: Any
    file: str
    node: Node


@dataclass
class Template:
    file: str
    root: Node
    # parameter name -> its value as given (the parameters file's, or the deployment's)
    given: dict[str, Located] = field(default_factory=dict)
    outer: Template | None = None  # the template whose deployment holds this one
    _variables: dict[str, Located] = field(default_factory=dict)

    def parameter(self, name: str) -> Located | Unresolved:
        for key, value in self.given.items():
            if key.lower() == name.lower():
                return value
        declared = self.root.get("parameters", name)
        default = declared.get("defaultValue") if declared is not None else None
        if default is None:
            return Unresolved(f"parameters('{name}')", f"parameter {name} has no value here")
        return self.evaluate(default)

    def variable(self, name: str, depth: int) -> Located | Unresolved:
        node = self.root.get("variables", name)
        if node is None:
            return Unresolved(f"variables('{name}')", f"variable {name} is not declared")
        return self.evaluate(node, depth + 1)

    def evaluate(self, node: Node, depth: int = 0) -> Located | Unresolved:
        """The value of a property, or why it is unknown."""
        if isinstance(node.value, str) and _is_expression(node.value):
            if depth > _MAX_DEPTH:
                return Unresolved(node.value, "expressions nested too deeply")
            found = _Expression(self, node.value[1:-1], depth).run()
            if isinstance(found, Unresolved):
                return found
            if isinstance(found, Located):  # a parameter or variable alone: where it is set
                return found
            return Located(found, self.file, node)
        if isinstance(node.value, str) and node.value.startswith("[["):
            return Located(node.value[1:], self.file, node)
        if isinstance(node.value, (dict, list)):
            return Located(node.plain(), self.file, node)
        return Located(node.value, self.file, node)


def _is_expression(text: str) -> bool:
    return text.startswith("[") and text.endswith("]") and not text.startswith("[[")


class _Expression:
    """One ARM template expression, evaluated where it can be."""

    def __init__(self, template: Template, text: str, depth: int) -> None:
        self.template, self.text, self.depth = template, text, depth
        matches = list(_TOKEN.finditer(text))
        self.tokens = [(m.lastgroup, m.group(m.lastgroup or "")) for m in matches]
        # a character no token takes (an operator ARM has not) leaves the expression unread
        self.whole = sum(len(m.group(0)) for m in matches) == len(text.rstrip())
        self.at = 0
        self.named: list[tuple[str, str]] = []

    def unresolved(self, reason: str) -> Unresolved:
        return Unresolved(f"[{self.text}]", reason, tuple(dict.fromkeys(self.named)))

    def run(self) -> Any:
        if not self.whole:
            return self.unresolved("not an expression connbudget evaluates")
        try:
            value = self.term()
        except (IndexError, ValueError):
            return self.unresolved("not an expression connbudget evaluates")
        if self.at != len(self.tokens):
            return self.unresolved("not an expression connbudget evaluates")
        return value

    def next(self) -> tuple[str | None, str]:
        token = self.tokens[self.at]
        self.at += 1
        return token

    def term(self) -> Any:
        kind, text = self.next()
        if kind == "str":
            value: Any = text[1:-1].replace("''", "'")
        elif kind == "num":
            value = int(text)
        elif kind == "name":
            value = self.call(text.lower())
        else:
            raise ValueError(text)
        while self.at < len(self.tokens) and self.tokens[self.at][1] in (".", "["):
            value = self.member(value)
        return value

    def member(self, value: Any) -> Any:
        value = value.value if isinstance(value, Located) else value
        _, symbol = self.next()
        if symbol == ".":
            _, key = self.next()
        else:
            key = self.term()
            key = key.value if isinstance(key, Located) else key
            self.expect("]")
        if isinstance(value, dict) and isinstance(key, str):
            return next((v for k, v in value.items() if k.lower() == key.lower()),
                        self.unresolved(f"no property {key}"))
        if isinstance(value, list) and isinstance(key, int) and 0 <= key < len(value):
            return value[key]
        return value if isinstance(value, Unresolved) else self.unresolved(
            "a property of a value not evaluated")

    def expect(self, symbol: str) -> None:
        if self.next()[1] != symbol:
            raise ValueError(symbol)

    def arguments(self) -> list[Any]:
        self.expect("(")
        found: list[Any] = []
        while self.tokens[self.at][1] != ")":
            value = self.term()
            found.append(value.value if isinstance(value, Located) else value)
            if self.tokens[self.at][1] == ",":
                self.at += 1
        self.at += 1
        return found

    def call(self, name: str) -> Any:
        args = self.arguments()
        for arg in args:
            if isinstance(arg, Unresolved):
                self.named += arg.resources
        if name in ("parameters", "variables") and len(args) == 1 and isinstance(args[0], str):
            found = (self.template.parameter(args[0]) if name == "parameters"
                     else self.template.variable(args[0], self.depth))
            if isinstance(found, Unresolved):
                self.named += found.resources
            return found
        if name == "resourceid":
            kinds = [i for i, a in enumerate(args) if isinstance(a, str) and "/" in a]
            names = args[kinds[-1] + 1:] if kinds else []
            if kinds and names and all(isinstance(n, str) for n in names):
                self.named.append((args[kinds[-1]], "/".join(names)))
            return self.unresolved("resourceId() is not evaluated")
        if any(isinstance(a, Unresolved) for a in args):
            return self.unresolved(f"{name}() of a value not evaluated")
        found = _function(name, args)
        return found if found is not None else self.unresolved(
            f"function {name}() is not evaluated")


def _function(name: str, args: list[Any]) -> Any:
    texts = [a if isinstance(a, str) else str(a) for a in args
             if isinstance(a, (str, int)) and not isinstance(a, bool)]
    if len(texts) != len(args):
        return None
    if name in ("true", "false") and not args:
        return name == "true"
    if name == "concat":
        return "".join(texts)
    if name == "format" and texts:
        return re.sub(r"\{(\d+)(?::[^}]*)?\}",
                      lambda m: texts[int(m.group(1)) + 1] if int(m.group(1)) + 1 < len(texts)
                      else m.group(0), texts[0])
    if name == "string" and len(texts) == 1:
        return texts[0]
    if name == "int" and len(texts) == 1 and texts[0].lstrip("-").isdigit():
        return int(texts[0])
    if name in ("tolower", "toupper") and len(texts) == 1:
        return texts[0].lower() if name == "tolower" else texts[0].upper()
    return None


@dataclass(frozen=True)
class Resource:
    """One resource of a template, children flattened: its full type and name as evaluated."""

    type: str
    name: Located | Unresolved
    node: Node
    template: Template

    def get(self, *keys: str) -> Located | Unresolved | None:
        """The evaluated value at `keys` below the resource; None when not written."""
        node = self.node.get(*keys)
        return self.template.evaluate(node) if node is not None else None

    def node_at(self, *keys: str) -> Node | None:
        return self.node.get(*keys)


def _text(value: Located | Unresolved) -> str | None:
    return value.value if isinstance(value, Located) and isinstance(value.value, str) else None


def resources(template: Template, depth: int = 0) -> list[Resource]:
    """Every resource of the template, child resources and nested deployments included."""
    listed = template.root.get("resources")
    nodes = (list(listed.value.values()) if isinstance(listed.value, dict) else listed.value) \
        if listed is not None and isinstance(listed.value, (dict, list)) else []
    return _walk(template, nodes, "", None, depth)


def _walk(template: Template, nodes: list[Node], parent_type: str,
          parent_name: Located | Unresolved | None, depth: int) -> list[Resource]:
    found: list[Resource] = []
    for node in nodes:
        kind = node.get("type")
        name = node.get("name")
        if kind is None or not isinstance(kind.value, str) or name is None:
            continue
        full = f"{parent_type}/{kind.value}" if parent_type else kind.value
        evaluated = template.evaluate(name)
        if parent_name is not None:
            outer = _text(parent_name)
            inner = _text(evaluated)
            evaluated = (Located(f"{outer}/{inner}", template.file, name)
                         if outer is not None and inner is not None
                         else Unresolved(str(name.value), "the name is not evaluated"))
        resource = Resource(full, evaluated, node, template)
        found.append(resource)
        children = node.get("resources")
        if children is not None and isinstance(children.value, list):
            found += _walk(template, children.value, full, evaluated, depth)
        if full.lower() == _DEPLOYMENTS and depth < _MAX_DEPTH:
            found += _nested(template, resource, depth)
    return found


def _nested(template: Template, deployment: Resource, depth: int) -> list[Resource]:
    inner = deployment.node.get("properties", "template")
    if inner is None or not isinstance(inner.value, dict):
        return []
    given: dict[str, Located] = {}
    passed = deployment.node.get("properties", "parameters")
    for name, entry in (passed.value.items() if passed is not None
                        and isinstance(passed.value, dict) else ()):
        value = entry.get("value")
        if value is not None:
            found = template.evaluate(value)
            if isinstance(found, Located):
                given[name] = found
    return resources(Template(template.file, inner, given, template), depth + 1)
