"""Text from the scanned files, written where something else reads it: a CI log, Terraform,
PromQL and Prometheus templates, TOML. Every writer of output or of a generated file quotes
what came from the input with one of these; none of them drops or guesses a character.

A CI log runs workflow commands: GitHub's runner reads a line starting with `::` as one, and a
legacy `##[command]` anywhere in a line. `guard` breaks both sequences wherever they stand,
with the escape of the format at hand, so the data reads back the same.
"""

from __future__ import annotations

import re

# C0 and C1 controls, DEL, and the bidirectional overrides that reorder what a reader sees.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# the first `:` of `::` and the first `#` of `##[`: replaced, neither sequence is left
_COMMAND = re.compile(r":(?=:)|#(?=#\[)")


def escape_char(match: re.Match[str]) -> str:
    """The matched character as `\\x1b` (or `\\u202e` beyond Latin-1)."""
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """`text` on one line with every control character shown as an escape (`\\x1b`), so a
    name from the input can neither start a line nor move the cursor of a terminal."""
    return _CONTROL.sub(escape_char, text)


def guard(text: str, escape: str = "\\x{:02x}") -> str:
    """`text` with no `::` and no `##[` left: the first character of each written with
    `escape` (a format string given the character's code), `\\x3a` by default."""
    return _COMMAND.sub(lambda m: escape.format(ord(m.group())), text)


JSON_ESCAPE = "\\u{:04x}"  # inside JSON strings, where `::` and `##[` only ever stand
ENTITY = "&#{};"  # XML and Markdown


def workflow_safe(line: str) -> str:
    """One line GitHub Actions cannot read as a workflow command (`::add-mask::`,
    `##[error]`): control characters escaped, `::` and `##[` broken."""
    return guard(printable(line))


_HCL_SPECIAL = re.compile(r'["\\]|[$%]\{|::|##\[|[^\x20-\x7e]')


def hcl_string(text: str) -> str:
    """A Terraform quoted string that reads back as `text`: no interpolation, no line break,
    nothing a CI log runs. As Terraform quotes instance keys in addresses
    (hashicorp/terraform internal/addrs/instance_key.go, toHCLQuotedString, read 2026-12-07),
    with `::`/`##[` broken by `\\u` escapes."""
    if not _HCL_SPECIAL.search(text):
        return '"' + text + '"'
    out = []
    for index, char in enumerate(text):
        following = text[index + 1:index + 2]
        if char in '"\\':
            out.append("\\" + char)
        elif char in "$%" and following == "{":
            out.append(char + char)
        elif char == "\n":
            out.append("\\n")
        elif char == "\r":
            out.append("\\r")
        elif char == "\t":
            out.append("\\t")
        elif not char.isprintable() or (char == ":" and following == ":") or (
                char == "#" and text[index + 1:index + 3] == "#["):
            code = ord(char)
            out.append(f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def comment(text: str) -> str:
    """Text for a `#` comment line of a generated file: one line, nothing a CI log runs."""
    return workflow_safe(text)


def toml_string(text: str) -> str:
    """A TOML basic string (a quoted key or value) that reads back as `text`."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + _CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", escaped) + '"'


def promql_string(text: str) -> str:
    """A PromQL double-quoted string (Go escapes) that reads back as `text`."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + guard(_CONTROL.sub(escape_char, escaped)) + '"'


def template_text(text: str) -> str:
    """Text for a Prometheus label or annotation, which Prometheus expands as a Go template:
    every brace, and the characters that would spell `::` or `##[`, printed by an action of
    their own (`{{"{"}}`), so nothing from the input is ever an action."""
    text = printable(text)
    return re.sub(r"[{}]|:(?=:)|#(?=#\[)", lambda m: '{{"' + m.group() + '"}}', text)


# One step of a module path: `module.name`, then an instance key (a number, or a Terraform
# quoted string), then a dot.
_MODULE_STEP = re.compile(r'module\.[A-Za-z_][\w-]*(?:\[(?:\d+|"(?:[^"\\]|\\.)*")\])?\.',
                          re.DOTALL)
# A resource or module call as a Terraform reference can name it: `type.name`, `type.name[0]`,
# `type.name["key"]` (the key a Terraform quoted string of printable characters), or the same
# of `module.name`.
_REFERABLE = re.compile(r'[A-Za-z_][\w-]*\.[A-Za-z_][\w-]*'
                        r'(?:\[(?:\d+|"(?:[^"\\$%\x00-\x1f\x7f]|\\[\\"nrt]|\\u[0-9a-f]{4}'
                        r'|[$%](?!\{)|\$\$\{|%%\{)*")\])?')


def split_address(address: str) -> tuple[str, str]:
    """(`module.app.`, `aws_db_instance.main`) for a resource inside a module, ("", address)
    outside any. Total: any text splits."""
    end = 0
    while (step := _MODULE_STEP.match(address, end)) is not None:
        end = step.end()
    return address[:end], address[end:]


def referable(local: str) -> bool:
    """Whether `local` (an address without its module path) can be written into Terraform as
    a reference as it stands: nothing in it can end the expression or the string around it."""
    return local.isprintable() and _REFERABLE.fullmatch(local) is not None
