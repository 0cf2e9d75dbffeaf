"""ARM JSON templates (Azure Resource Manager) and their parameters files.

A template (`$schema` ...`deploymentTemplate.json#`) is read with the parameters file beside
it that is named for it (`azuredeploy.json` with `azuredeploy.parameters.json`, `main.json`
with `main.parameters.json`); a parameters file alone is read with its template only. Every
value keeps its line and columns (`jsonpos`), so a fix can replace exactly the value.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from connbudget import confine
from connbudget.comments import Comment, may_suppress, whole_line_comments
from connbudget.errors import InputError
from connbudget.frontends.arm.jsonpos import JsonError, Node, parse
from connbudget.frontends.arm.template import Located, Resource, Template, resources
from connbudget.kinds import Read, ReadContext

_MAX_BYTES = 8 * 1024 * 1024
TEMPLATE_SCHEMA = re.compile(rb"deploymentTemplate\.json#", re.IGNORECASE)
PARAMETERS_SCHEMA = re.compile(rb"deploymentParameters\.json#", re.IGNORECASE)


@dataclass
class ArmInputs:
    templates: list[Template] = field(default_factory=list)
    resources: list[Resource] = field(default_factory=list)


def _load(path: str, errors: list[InputError]) -> tuple[Node | None, str]:
    try:
        text = confine.read_regular(path, _MAX_BYTES).decode("utf-8")
    except OSError as exc:
        errors.append(InputError(path, 0, f"cannot read: {exc.strerror or 'not readable'}"))
        return None, ""
    except UnicodeDecodeError:
        errors.append(InputError(path, 1, "file is not valid UTF-8"))
        return None, ""
    try:
        return parse(text), text
    except JsonError as exc:
        errors.append(InputError(path, exc.line, f"not valid JSON: {exc}"))
    except RecursionError:
        errors.append(InputError(path, 1, "not valid JSON: nested too deeply"))
    return None, ""


def _parameters_for(template: str) -> str:
    stem, extension = os.path.splitext(template)
    return f"{stem}.parameters{extension}"


def _given(path: str, node: Node, errors: list[InputError]) -> dict[str, Located]:
    """A parameters file's values; a key vault reference is a secret, never read."""
    given: dict[str, Located] = {}
    listed = node.get("parameters")
    for name, entry in (listed.value.items() if listed is not None
                        and isinstance(listed.value, dict) else ()):
        value = entry.get("value")
        if value is not None:
            given[name] = Located(value.plain(), path, value)
    if listed is None or not isinstance(listed.value, dict):
        errors.append(InputError(path, node.line, "a parameters file without \"parameters\""))
    return given


def read(paths: list[str], context: ReadContext) -> Read:
    errors: list[InputError] = []
    comments: dict[str, list[Comment]] = {}
    documents: dict[str, Node] = {}
    for path in paths:
        node, text = _load(path, errors)
        if node is not None and isinstance(node.value, dict):
            documents[path] = node
            if may_suppress(text):
                comments[path] = whole_line_comments(path, text, ("//",))
        elif node is not None:
            errors.append(InputError(path, 1, "an ARM template must be a JSON object"))
    found = ArmInputs()
    for path, node in documents.items():
        schema = node.get("$schema")
        if schema is not None and isinstance(schema.value, str) \
                and PARAMETERS_SCHEMA.search(schema.value.encode()):
            continue
        parameters = documents.get(_parameters_for(path))
        given = _given(_parameters_for(path), parameters, errors) if parameters is not None \
            else {}
        template = Template(path, node, given)
        found.templates.append(template)
        found.resources += resources(template)
    return Read(found, errors, comments)
