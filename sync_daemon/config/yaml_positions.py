"""Read YAML into plain data while remembering where every key and value sits in the file.

We compose ruamel.yaml's node tree (which carries start marks) and build the Python values
ourselves, instead of letting a constructor do it, for two reasons: a duplicate key must be reported
with *both* locations (ruamel's constructors stop at the first one), and every later check, from
pydantic errors to ``validate --remote``, needs the line and column of the value it complains about.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from sync_daemon.config.errors import ConfigError, Problem

if TYPE_CHECKING:
    from pathlib import Path

YamlPath = tuple[object, ...]
"""Keys and list indices from the document root to a node, e.g. ``("accounts", "pull", "name")``."""
Position = tuple[int, int]
"""1-based (line, column), as editors count."""

_TYPED_TAGS = frozenset(f"tag:yaml.org,2002:{t}" for t in ("int", "float", "bool", "null"))
_MERGE_TAG = "tag:yaml.org,2002:merge"


class PositionIndex:
    """Where each value (and each mapping key) of a document sits, by its path from the root."""

    def __init__(self, values: dict[YamlPath, Position], keys: dict[YamlPath, Position]) -> None:
        """Hold value positions and key positions, both by path."""
        self._values = values
        self._keys = keys

    def at(self, path: YamlPath) -> Position:
        """Position of the value at ``path``, else of its nearest ancestor that exists."""
        for depth in range(len(path), -1, -1):
            found = self._values.get(path[:depth])
            if found is not None:
                return found
        return (1, 1)

    def key_at(self, path: YamlPath) -> Position:
        """Position of the key naming ``path`` (for unknown or misspelt keys), else of its value."""
        return self._keys.get(path) or self.at(path)

    def __contains__(self, path: object) -> bool:
        """Whether ``path`` names a value present in the document."""
        return path in self._values


@dataclass(frozen=True)
class YamlDocument:
    """A parsed file: plain data, positions, and the problems found while reading it."""

    file: str
    data: object
    positions: PositionIndex
    problems: list[Problem] = field(default_factory=list)


def read_yaml(path: Path) -> YamlDocument:
    """Parse ``path``; raise :class:`ConfigError` when it cannot be read or is not valid YAML.

    Duplicate keys and unreadable scalars do not stop reading: they land in ``problems``, so they
    are reported together with everything else wrong in the file.
    """
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([Problem(file, None, None, f"cannot read the file: {exc}")]) from exc
    return parse_yaml(text, file)


def parse_yaml(text: str, file: str) -> YamlDocument:
    """Parse YAML ``text`` read from ``file`` (used in messages)."""
    yaml = YAML(typ="safe", pure=True)
    try:
        root = yaml.compose(io.StringIO(text))
    except MarkedYAMLError as exc:
        raise ConfigError([_syntax_problem(file, exc)]) from exc
    except YAMLError as exc:
        raise ConfigError([Problem(file, None, None, f"YAML syntax error: {exc}")]) from exc
    builder = _Builder(file, yaml)
    data = None if root is None else builder.build(root, ())
    positions = PositionIndex(builder.values, builder.keys)
    return YamlDocument(file, data, positions, builder.problems)


def _syntax_problem(file: str, exc: MarkedYAMLError) -> Problem:
    """Turn ruamel's error into a Problem at the place it points at."""
    mark = exc.problem_mark or exc.context_mark
    message = f"YAML syntax error: {exc.problem or exc.context or 'cannot parse'}"
    hint = None
    if exc.problem and exc.context:
        hint = exc.context
        if exc.context_mark is not None and exc.context_mark is not mark:
            start = exc.context_mark
            hint += f" started at line {start.line + 1}, column {start.column + 1}"
    if mark is None:
        return Problem(file, None, None, message, hint)
    return Problem(file, mark.line + 1, mark.column + 1, message, hint)


def dotted(path: YamlPath) -> str:
    """Render a path for admins: ``accounts.scope[0].value``; the root is ``the top level``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) and not isinstance(part, bool) else f".{part}"
    return out.lstrip(".") or "the top level"


def _pos(node: Node) -> Position:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


class _Builder:
    """Builds plain data from nodes, recording positions and reading problems on the way."""

    def __init__(self, file: str, yaml: YAML) -> None:
        self.file = file
        self.yaml = yaml
        self.values: dict[YamlPath, Position] = {}
        self.keys: dict[YamlPath, Position] = {}
        self.problems: list[Problem] = []
        self._active: set[int] = set()

    def build(self, node: Node, path: YamlPath) -> object:
        self.values[path] = _pos(node)
        if id(node) in self._active:  # an alias that contains itself
            self._problem(node, "an alias refers to a node that contains it")
            return None
        self._active.add(id(node))
        try:
            if isinstance(node, MappingNode):
                return self._mapping(node, path)
            if isinstance(node, SequenceNode):
                return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
            return self._scalar(node)
        finally:
            self._active.discard(id(node))

    def _mapping(self, node: MappingNode, path: YamlPath) -> dict[object, object]:
        out: dict[object, object] = {}
        merges: list[Node] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                merges.append(value_node)
                continue
            key = self._key(key_node)
            if key is None:
                continue
            if key in out:
                line, col = self.keys[(*path, key)]
                where = f" in {dotted(path)}" if path else ""
                first = f"first defined at line {line}, column {col}"
                self._problem(key_node, f"duplicate key '{key}'{where}", first)
                continue
            self.keys[(*path, key)] = _pos(key_node)
            out[key] = self.build(value_node, (*path, key))
        for merged in merges:  # YAML merge keys: explicit keys win over merged ones
            self._merge(out, merged, path)
        return out

    def _merge(self, out: dict[object, object], node: Node, path: YamlPath) -> None:
        sources = node.value if isinstance(node, SequenceNode) else [node]
        for source in sources:
            if not isinstance(source, MappingNode):
                self._problem(source, "a merge key (<<) needs a mapping or a list of mappings")
                continue
            for key_node, value_node in source.value:
                key = self._key(key_node)
                if key is not None and key not in out:
                    self.keys[(*path, key)] = _pos(key_node)
                    out[key] = self.build(value_node, (*path, key))

    def _key(self, node: Node) -> object:
        if not isinstance(node, ScalarNode):
            self._problem(node, "a key must be a plain name, not a list or mapping")
            return None
        return self._scalar(node)

    def _scalar(self, node: Node) -> object:
        """Typed scalars (numbers, booleans, null) as Python values; everything else as text.

        Dates stay text: the daemon compares them as the CRM sends them, and a ``datetime.date``
        would only trip the string checks further on.
        """
        if node.tag not in _TYPED_TAGS:
            return str(node.value)
        try:
            return self.yaml.constructor.construct_object(node, deep=True)
        except (YAMLError, ValueError):
            self._problem(node, f"cannot read '{node.value}' as {node.tag.rsplit(':', 1)[-1]}")
            return str(node.value)

    def _problem(self, node: Node, message: str, hint: str | None = None) -> None:
        line, col = _pos(node)
        self.problems.append(Problem(self.file, line, col, message, hint))
