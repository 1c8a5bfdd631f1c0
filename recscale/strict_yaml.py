"""Reading a workload file's YAML: safe, strict and bounded, every failure a Problem with its line.

Workload files are user input, and a submission's copy of one is someone else's: the reader must
neither crash nor hang on any file. On top of PyYAML's SafeLoader (no Python objects):

- a key is text, written once per mapping: duplicate keys (which PyYAML would let the last one
  win), complex keys (``? [a, b]``) and keys YAML reads as something else (``on:`` is true,
  ``1:`` a number) are refused; merge keys (``<<: *base``) work as YAML 1.1 defines them, the
  keys written beside them overriding the merged ones;
- the file size, the nesting depth, the values once aliases are expanded (an alias is a reference,
  so a 1 KB "billion laughs" file stands for billions of values), recursive aliases and the digits
  of an integer are bounded (recscale/limits.py);
- numbers in exponent form without a dot or exponent sign (``1e-3``, ``2E5``) are floats, as in
  YAML 1.2 and JSON; PyYAML's YAML 1.1 rules would read them as text, which a float field refuses.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.error import Mark, MarkedYAMLError
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, ScalarNode
from yaml.reader import ReaderError

from recscale.errors import InputError, Problem
from recscale.limits import MAX_INT_DIGITS, MAX_YAML_BYTES, MAX_YAML_DEPTH, MAX_YAML_NODES

MERGE_TAG = "tag:yaml.org,2002:merge"
# YAML 1.2 / JSON floats that YAML 1.1 reads as text: an exponent without a dot or without a sign.
_EXPONENT_FLOAT = re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$")


class Refused(MarkedYAMLError):
    """Valid YAML that a workload file may not hold (a limit, a key that is not text)."""

    def __init__(self, problem: str, mark: Mark | None):
        super().__init__(problem=problem, problem_mark=mark)


def _not_text(key_node: Node, key: Any) -> str:
    if isinstance(key_node, ScalarNode):
        return (f"the key {key_node.value!r} is read as {key!r} (a {type(key).__name__}); keys must be text: "
                "put it in quotes")
    return f"a key must be a plain value (text), not a {type(key).__name__} (a complex key)"


class WorkloadLoader(yaml.SafeLoader):
    """SafeLoader with the checks above. One instance reads one document."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self._depth = 0
        self._values = 0  # values composed so far, each alias counted as a copy of its anchor's value
        self._anchored_sizes: dict[int, int] = {}  # id(node) -> values in it, for nodes with an anchor
        self._open_anchors: set[str] = set()  # anchors of the nodes being composed (for recursion)

    def _count(self, values: int, mark: Mark) -> None:
        self._values += values
        if self._values > MAX_YAML_NODES:
            raise Refused(f"more than {MAX_YAML_NODES:,} values once aliases are expanded (each alias stands "
                          "for a whole copy of its anchor's value)", mark)

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        event = self.peek_event()
        if self.check_event(AliasEvent):
            if event.anchor in self._open_anchors:
                raise Refused(f"the alias *{event.anchor} is inside the value it refers to (a recursive alias)",
                              event.start_mark)
            node = super().compose_node(parent, index)
            self._count(self._anchored_sizes[id(node)], event.start_mark)
            return node
        if self._depth >= MAX_YAML_DEPTH:
            raise Refused(f"nested too deeply: more than {MAX_YAML_DEPTH} levels (a workload needs fewer than 10)",
                          event.start_mark)
        start = self._values
        self._count(1, event.start_mark)
        self._depth += 1
        if event.anchor is not None:
            self._open_anchors.add(event.anchor)
        node = super().compose_node(parent, index)
        if event.anchor is not None:
            self._open_anchors.discard(event.anchor)
            self._anchored_sizes[id(node)] = self._values - start
        self._depth -= 1
        return node

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        """The mapping, after checking the keys written in it (merged keys may be overridden)."""
        seen: set[str] = set()
        for key_node, _ in node.value:
            if key_node.tag == MERGE_TAG:
                continue
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, str):
                raise Refused(_not_text(key_node, key), key_node.start_mark)
            if key in seen:
                mark = key_node.start_mark
                raise ConstructorError(None, None, f"duplicate key {key!r} (line {mark.line + 1})", mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)

    def construct_bounded_int(self, node: ScalarNode) -> int:
        if len(node.value) > MAX_INT_DIGITS:
            raise Refused(f"an integer of {len(node.value):,} characters; at most {MAX_INT_DIGITS} are read "
                          "(no spec value needs more than 19 digits)", node.start_mark)
        return super().construct_yaml_int(node)


WorkloadLoader.add_constructor("tag:yaml.org,2002:int", WorkloadLoader.construct_bounded_int)
WorkloadLoader.add_implicit_resolver("tag:yaml.org,2002:float", _EXPONENT_FLOAT, list("-+0123456789"))


def _where(before: str) -> str:
    """'line L, column C' of the character that follows the text `before`."""
    return f"line {before.count(chr(10)) + 1}, column {len(before) - before.rfind(chr(10))}"


def _problem(err: yaml.YAMLError, text: str, file: str) -> Problem:
    """The YAML error as a Problem saying where in the file."""
    if isinstance(err, ReaderError):  # a character YAML does not allow (a NUL, a control character)
        return Problem(file, "", f"YAML: {_where(text[: err.position])}: character U+{err.character:04X} is not "
                       "allowed in YAML")
    if isinstance(err, MarkedYAMLError):
        mark = err.problem_mark or err.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        what = ", ".join(part for part in (err.context, err.problem) if part) or "malformed"
        kind = "YAML value refused" if isinstance(err, Refused) else "YAML syntax error"
        return Problem(file, "", f"{kind}: {where}{what}")
    return Problem(file, "", f"YAML syntax error: {err}")


def parse_yaml(text: str, file: str) -> Any:
    """The one YAML document in `text` (read from `file`, named in messages); InputError when refused."""
    if len(text.encode("utf-8", errors="surrogatepass")) > MAX_YAML_BYTES:
        raise InputError([Problem(file, "", f"larger than {MAX_YAML_BYTES:,} bytes: not a workload file")])
    loader = None
    try:
        loader = WorkloadLoader(text)  # checks the characters
        return loader.get_single_data()
    except yaml.YAMLError as err:
        raise InputError([_problem(err, text, file)]) from None
    except RecursionError:  # a chain of merge keys hundreds long: no line to point at
        raise InputError([Problem(file, "", "YAML: aliases or merge keys chained too deeply")]) from None
    finally:
        if loader is not None:
            loader.dispose()


def read_yaml(path: Path) -> Any:
    """parse_yaml of the file at `path`, read as UTF-8 (and never more than the size limit)."""
    try:
        with path.open("rb") as stream:
            raw = stream.read(MAX_YAML_BYTES + 1)
    except FileNotFoundError:
        raise InputError([Problem(str(path), "", "no such file")]) from None
    except OSError as err:
        raise InputError([Problem(str(path), "", f"cannot read: {err.strerror or err}")]) from None
    if len(raw) > MAX_YAML_BYTES:
        raise InputError([Problem(str(path), "", f"larger than {MAX_YAML_BYTES:,} bytes: not a workload file")])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        where = _where(raw[: err.start].decode("utf-8", errors="replace"))
        raise InputError([Problem(str(path), "", f"not UTF-8 text: {where}: byte {raw[err.start]:#04x}")]) from None
    return parse_yaml(text, str(path))

