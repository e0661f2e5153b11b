"""Read HCL files into dicts and walk them with typed getters that name file and key path.

python-hcl2 gives syntax errors with line and column but a parsed dict without positions, so
semantic errors name the file and the key path (``domain "a.example".dmarc.pct``) instead.
We parse with ``explicit_blocks=True``: every block body carries ``__is_block__``, which is the
only reliable way to tell ``dkim { tags = {...} }`` from a labelled block or from an attribute
``dkim = [{...}]`` (the plain shape makes all three look alike).
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import hcl2
from lark import Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken


class ConfigError(Exception):
    """One or more problems in an environment's files; ``str()`` lists them one per line."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


class Invalid(Exception):  # noqa: N818 - a problem in the input, collected, not a program error
    """A single problem, raised inside a block and collected by the loader."""


_OPTIONS = hcl2.SerializationOptions(strip_string_quotes=True, explicit_blocks=True, with_comments=False)


def parse_file(path: Path, display: str) -> dict[str, Any]:
    """Parse one HCL file; a syntax error becomes ``Invalid`` with line and column.

    An attribute set twice in one block is an error here (Terraform rejects it too): the parsed
    dict would silently keep the last value, so it is caught on the parse tree.
    """
    raw = path.read_bytes()
    try:
        # utf-8-sig: editors on Windows may start the file with a byte order mark.
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise Invalid(
            f"{display}:{line}: not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8"
        ) from None
    try:
        tree = hcl2.parses_to_tree(text)
    except UnexpectedInput as exc:
        raise Invalid(f"{display}:{_position(exc)}: syntax error: {_describe(exc)}") from None
    except Exception as exc:  # python-hcl2 raises plain errors for some bad literals
        raise Invalid(f"{display}: syntax error: {exc}") from None
    for body in tree.children:
        _check_attributes_once(body, display, "")
    try:
        data = hcl2.serialize(hcl2.transform(tree), serialization_options=_OPTIONS)
    except Exception as exc:  # python-hcl2 raises plain errors for some bad literals
        raise Invalid(f"{display}: syntax error: {exc}") from None
    if not isinstance(data, dict):
        raise Invalid(f"{display}: expected attributes and blocks at the top level")
    return data


def _check_attributes_once(body: Any, display: str, path: str) -> None:
    """Reject an attribute set twice in one block body, naming the key path and both lines."""
    if not isinstance(body, Tree) or body.data != "body":
        return
    first_line: dict[str, int] = {}
    for child in body.children:
        if not isinstance(child, Tree):
            continue
        if child.data == "attribute":
            name = _tree_text(child.children[0])
            line = int(getattr(child.meta, "line", 0))
            if name in first_line:
                key = f"{path}.{name}" if path else name
                lines = f"lines {first_line[name]} and {line}"
                raise Invalid(f"{display}: {key}: set twice in one block ({lines}); keep one")
            first_line[name] = line
        elif child.data == "block":
            parts = [
                c
                for c in child.children
                if isinstance(c, Tree) and c.data not in ("body", "new_line_or_comment")
            ]
            name = _tree_text(parts[0])
            labels = "".join(f' "{_tree_text(label)}"' for label in parts[1:])
            key = f"{path}.{name}{labels}" if path else f"{name}{labels}"
            if any(isinstance(c, Tree) and c.data == "new_line_or_comment" for c in child.children):
                # python-hcl2 accepts a line break before the "{"; HCL (Terraform) does not.
                line = int(getattr(child.meta, "line", 0))
                raise Invalid(
                    f'{display}:{line}: {key}: the "{{" that opens the block must be on the same line '
                    f"as its header, as HCL requires: write {name}{labels} {{"
                )
            for inner in child.children:
                _check_attributes_once(inner, display, key)


def _tree_text(node: Any) -> str:
    """The source text of an identifier or a plain string label, without quotes."""
    return "".join(str(t) for t in node.scan_values(lambda t: isinstance(t, Token) and t.type != "DBLQUOTE"))


def _position(exc: UnexpectedInput) -> str:
    line = getattr(exc, "line", -1)
    column = getattr(exc, "column", -1)
    return f"{line}:{column}" if line and line > 0 else "end of file"


def _describe(exc: UnexpectedInput) -> str:
    if isinstance(exc, UnexpectedToken):
        token = exc.token
        if token.type == "$END":
            return "unexpected end of file (an unclosed block or string?)"
        found = f"unexpected {_snippet(str(token.value)) or token.type!r}"
        if set(exc.expected or ()) == {"LBRACE"}:
            # `policy "reject"` parses as the header of a block named policy.
            hint = 'a name and a label start a block (expected "{"); for an attribute write name = value'
            return f"{found}: {hint}"
        return found
    if isinstance(exc, UnexpectedCharacters):
        return f"unexpected character {exc.char!r}"
    if isinstance(exc, UnexpectedEOF):
        return "unexpected end of file (an unclosed block or string?)"
    return type(exc).__name__


def _snippet(text: str) -> str:
    """The first line of a token, shortened: the lexer may hand back the rest of the file."""
    lines = text.strip().splitlines()
    first = lines[0] if lines else ""
    return first if len(first) <= 40 else first[:40] + "..."


def type_name(value: object) -> str:  # noqa: PLR0911 - one return per kind of value
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a bool"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return f'the string "{value}"'
    if isinstance(value, list):
        return "a list" if not all(isinstance(v, dict) for v in value) or not value else "a block"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


class Node:
    """A block's body with the file and key path it came from.

    Getters consume keys; :meth:`finish` then rejects whatever was not consumed, so a typo
    (``polcy``) is an error with a did-you-mean rather than a silently ignored setting.
    """

    def __init__(self, file: str, path: str, data: dict[str, Any]) -> None:
        self.file = file
        self.path = path
        self._data = data
        self._seen: set[str] = set()

    def where(self, key: str | None = None) -> str:
        path = self.path if key is None else (f"{self.path}.{key}" if self.path else key)
        return f"{self.file}: {path}" if path else self.file

    def fail(self, key: str | None, message: str) -> Invalid:
        return Invalid(f"{self.where(key)}: {message}")

    def has(self, key: str) -> bool:
        return key in self._data

    def _take(self, key: str) -> Any:
        self._seen.add(key)
        value = self._data.get(key)
        if isinstance(value, str) and "${" in value:
            # python-hcl2 hands numbers in exponent form (1e6) back as expressions.
            number = _EXPONENT_NUMBER.fullmatch(value)
            parsed = float(number.group(1)) if number else math.inf
            if math.isfinite(parsed):
                return int(parsed) if parsed.is_integer() else parsed
            raise self.fail(key, "expressions are not allowed in environment files; write the value")
        return value

    def _attribute(self, key: str) -> Any:
        value = self._take(key)
        if _is_block(value):
            raise self.fail(key, f"expected an attribute ({key} = ...), got a block")
        return value

    def text(
        self, key: str, *, default: str | None = None, required: bool = False,
        pattern: str | None = None, choices: tuple[str, ...] | None = None, hint: str = "",
        check: Callable[[str], str | None] | None = None,
    ) -> str | None:  # fmt: skip
        value = self._attribute(key)
        if value is None:
            if required:
                raise self.fail(key, "is required" + (f" ({hint})" if hint else ""))
            return default
        if not isinstance(value, str):
            raise self.fail(key, f"expected a string, got {type_name(value)}")
        if choices is not None and value not in choices:
            raise self.fail(key, f'expected one of {", ".join(choices)}, got "{value}"')
        if pattern is not None and not re.fullmatch(pattern, value):
            raise self.fail(key, f'expected {hint or "a value matching " + pattern}, got "{value}"')
        problem = check(value) if check is not None else None  # a rule the props share
        if problem:
            raise self.fail(key, f'{problem}, got "{value}"')
        return value

    def req_text(self, key: str, **kwargs: Any) -> str:
        value = self.text(key, required=True, **kwargs)
        if value is None:  # text(required=True) has raised already; this narrows the type
            raise self.fail(key, "is required")
        return value

    def integer(
        self,
        key: str,
        *,
        default: int,
        minimum: int,
        maximum: int | None = None,
    ) -> int:
        value = self._attribute(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, f"expected a whole number, got {type_name(value)}")
        if value < minimum or (maximum is not None and value > maximum):
            bounds = f"from {minimum} to {maximum}" if maximum is not None else f"≥ {minimum}"
            raise self.fail(key, f"expected a whole number {bounds}, got {value}")
        return value

    def req_integer(self, key: str, *, minimum: int) -> int:
        if self._data.get(key) is None:
            raise self.fail(key, "is required")
        return self.integer(key, default=minimum, minimum=minimum)

    def number(self, key: str, *, minimum_exclusive: float = 0) -> float:
        value = self._attribute(key)
        if value is None:
            raise self.fail(key, "is required")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(key, f"expected a number, got {type_name(value)}")
        if value <= minimum_exclusive:
            raise self.fail(key, f"expected a number > {minimum_exclusive:g}, got {value}")
        return float(value)

    def flag(self, key: str, *, default: bool) -> bool:
        value = self._attribute(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.fail(key, f"expected true or false, got {type_name(value)}")
        return value

    def text_list(self, key: str) -> tuple[str, ...] | None:
        value = self._attribute(key)
        if value is None:
            return None
        if not isinstance(value, list):
            raise self.fail(key, f'expected a list of strings (["a", "b"]), got {type_name(value)}')
        for i, item in enumerate(value):
            if not isinstance(item, str):
                raise self.fail(f"{key}[{i}]", f"expected a string, got {type_name(item)}")
            if "${" in item:
                raise self.fail(f"{key}[{i}]", "expressions are not allowed in environment files")
        if len(set(value)) != len(value):
            raise self.fail(key, "lists the same value twice")
        return tuple(value)

    def integer_list(self, key: str, *, minimum: int) -> tuple[int, ...] | None:
        """A list of whole numbers, each ≥ ``minimum`` (``[2000, 5000]``); ``None`` when absent."""
        value = self._attribute(key)
        if value is None:
            return None
        if not isinstance(value, list):
            raise self.fail(key, f"expected a list of whole numbers ([2000, 5000]), got {type_name(value)}")
        for i, item in enumerate(value):
            if isinstance(item, bool) or not isinstance(item, int):
                raise self.fail(f"{key}[{i}]", f"expected a whole number, got {type_name(item)}")
            if item < minimum:
                raise self.fail(f"{key}[{i}]", f"expected a whole number ≥ {minimum}, got {item}")
        return tuple(value)

    def text_map(self, key: str) -> dict[str, str]:
        value = self._attribute(key)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.fail(key, f'expected an object ({{ name = "value" }}), got {type_name(value)}')
        for name, item in value.items():
            if not isinstance(item, str):
                raise self.fail(f"{key}.{name}", f"expected a string, got {type_name(item)}")
            if "${" in item or "${" in name:
                raise self.fail(f"{key}.{name}", "expressions are not allowed in environment files")
        return dict(value)

    def block(self, key: str) -> Node | None:
        """An unlabelled block that may appear at most once (``dkim { ... }``)."""
        value = self._take(key)
        if value is None:
            return None
        if not _is_block(value):
            raise self.fail(key, f"expected a block ({key} {{ ... }}), got {type_name(value)}")
        if len(value) != 1:
            raise self.fail(key, f"may appear once, found {len(value)} blocks")
        body = value[0]
        if _is_labelled(body):
            raise self.fail(key, f"expected a block without a label ({key} {{ ... }})")
        return Node(self.file, self._child(key), body)

    def labelled_blocks(self, key: str, noun: str) -> Iterator[tuple[str, Node]]:
        """Blocks with one label (``region "eu-central-1" { ... }``), in file order."""
        value = self._take(key)
        if value is None:
            return
        if not _is_block(value):
            raise self.fail(key, f'expected {key} "<{noun}>" {{ ... }} blocks, got {type_name(value)}')
        for body in value:
            if not _is_labelled(body):
                raise self.fail(key, f'expected one label: {key} "<{noun}>" {{ ... }}')
            (label, inner), = body.items()  # fmt: skip
            if _is_labelled(inner):
                raise self.fail(f'{key} "{label}"', f'takes one label, got more ({key} "<{noun}>" {{ ... }})')
            yield label, Node(self.file, self._child(f'{key} "{label}"'), inner)

    def _child(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def finish(self, known: tuple[str, ...] = ()) -> None:
        """Reject keys no getter consumed; ``known`` keys count as consumed (read elsewhere)."""
        allowed = self._seen | set(known)
        unknown = sorted(set(self._data) - allowed - {_BLOCK_MARK})
        if unknown:
            key = unknown[0]
            close = difflib.get_close_matches(key, sorted(allowed), n=1)
            hint = f'; did you mean "{close[0]}"?' if close else ""
            expected = ", ".join(sorted(allowed))
            raise self.fail(key, f"unknown key{hint} (expected one of: {expected})")


_BLOCK_MARK = "__is_block__"
_EXPONENT_NUMBER = re.compile(r"\$\{(-?[0-9]+(?:\.[0-9]+)?[eE][+-]?[0-9]+)\}")


def _is_block(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(_is_body(v) for v in value)


def _is_body(value: Any) -> bool:
    """A block body: marked itself, or a label wrapping (eventually) a marked body."""
    if not isinstance(value, dict):
        return False
    if value.get(_BLOCK_MARK) is True:
        return True
    return len(value) == 1 and _is_body(next(iter(value.values())))


def _is_labelled(body: dict[str, Any]) -> bool:
    return _BLOCK_MARK not in body
