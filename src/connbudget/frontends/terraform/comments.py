"""The comments of an HCL file (`#`, `//`, `/* */`), lexed so that a quoted string, a template
interpolation or a heredoc is never taken for one."""

from __future__ import annotations

import re

from connbudget.comments import Comment, Lines

_SPECIAL = re.compile(r'#|//|/\*|"|<<-?([A-Za-z_][\w-]*)[ \t]*\r?\n')
_IN_STRING = re.compile(r'[\\"\n]|[$%]\{')
_IN_TEMPLATE = re.compile(r'[{}"]')


def _end_of_template(text: str, pos: int) -> int:
    """`pos` is just after `${` or `%{`; returns the offset after its closing brace."""
    depth = 1
    while depth:
        match = _IN_TEMPLATE.search(text, pos)
        if match is None:
            return len(text)
        token = match.group()
        if token == '"':
            pos = _end_of_string(text, match.end())
            continue
        depth += 1 if token == "{" else -1
        pos = match.end()
    return pos


def _end_of_string(text: str, pos: int) -> int:
    """`pos` is just after the opening quote; a string ends at its quote or, unterminated, at
    the end of its line."""
    while True:
        match = _IN_STRING.search(text, pos)
        if match is None:
            return len(text)
        token = match.group()
        if token == "\\":
            pos = match.end() + 1
        elif token == '"' or token == "\n":
            return match.end()
        elif text[match.start() - 1:match.start()] == token[0]:
            pos = match.end()  # $${ and %%{ are literal text
        else:
            pos = _end_of_template(text, match.end())


def _end_of_heredoc(text: str, pos: int, marker: str) -> int:
    """`pos` is at the first line of the heredoc's body; returns the end of its closing line."""
    closing = re.compile(rf"^[ \t]*{re.escape(marker)}[ \t]*\r?$", re.MULTILINE)
    match = closing.search(text, pos)
    return match.end() if match else len(text)


def _comment_end(text: str, pos: int, token: str) -> int:
    if token == "/*":
        close = text.find("*/", pos + 2)
        return len(text) if close < 0 else close + 2
    end = text.find("\n", pos)
    return len(text) if end < 0 else end


def comments(file: str, text: str) -> list[Comment]:
    lines = Lines(text)
    found = []
    pos = 0
    while (match := _SPECIAL.search(text, pos)) is not None:
        token = match.group()
        if token == '"':
            pos = _end_of_string(text, match.end())
        elif match.group(1):
            pos = _end_of_heredoc(text, match.end(), match.group(1))
        else:
            end = _comment_end(text, match.start(), token)
            line, column = lines.locate(match.start())
            found.append(Comment(file, line, column, text[match.start():end].removesuffix("\r")))
            pos = end
    return found
