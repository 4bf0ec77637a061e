"""Validate a YAML document against a pydantic model and say what is wrong in an admin's words.

Pydantic speaks to programmers ("Extra inputs are not permitted", union member tags in ``loc``);
this module turns each error into a :class:`Problem` at the YAML node it is about: an unknown key
points at the key, a bad value at the value, a missing key at the mapping that lacks it. Where a
value could take several shapes (a union), only the errors of the shape the admin evidently meant
are kept, so a typo in ``on_drift`` is not also reported as "should be a string".
"""

from __future__ import annotations

import re
import types
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from sync_daemon.config.errors import Problem, did_you_mean, one_of
from sync_daemon.config.yaml_positions import YamlDocument, YamlPath, dotted

if TYPE_CHECKING:
    from collections.abc import Sequence

M = TypeVar("M", bound=BaseModel)

_EXPECTED = {
    "string_type": "text",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "list_type": "a list",
    "dict_type": "a mapping (key: value)",
    "model_type": "a mapping (key: value)",
    "model_attributes_type": "a mapping (key: value)",
}
_FREE_MAPS = frozenset({"pull", "kpis", "push", "roles"})
_NAME_RULE = "use lowercase letters, digits and _, starting with a letter"
_FIELD_RULE = "use letters, digits, _ and ., starting with a letter"


@dataclass(frozen=True)
class _Err:
    """One pydantic error, its ``loc`` split into the data path and the union tags crossed."""

    type: str
    loc: tuple[Any, ...]
    path: YamlPath
    tags: tuple[tuple[int, str], ...]
    input: object
    missing: str | None = None
    on_key: bool = False
    ctx: dict[str, Any] = field(default_factory=dict)
    msg: str = ""


def validate_document(doc: YamlDocument, model: type[M]) -> tuple[M | None, list[Problem]]:
    """Validate ``doc`` against ``model``: the instance, or ``None`` and every problem found."""
    try:
        return model.model_validate(doc.data), []
    except ValidationError as exc:
        errors = [_split(doc.data, dict(e)) for e in exc.errors(include_url=False)]
        return None, [_problem(doc, model, e) for e in _resolve_unions(errors)]


def _split(data: object, err: dict[str, Any]) -> _Err:
    """Walk ``loc`` through the data: what exists is path, what does not is a union tag."""
    node, path, tags = data, [], []
    missing, on_key = None, False
    loc = tuple(err["loc"])
    for i, part in enumerate(loc):
        if part == "[key]":
            on_key = True
        elif err["type"] == "missing" and i == len(loc) - 1:
            missing = str(part)
        elif _has_child(node, part):
            path.append(part)
            node = node[part]  # type: ignore[index]
        else:
            tags.append((len(path), str(part)))
    return _Err(
        err["type"], loc, tuple(path), tuple(tags), err.get("input"), missing, on_key,
        dict(err.get("ctx") or {}), err["msg"],
    )  # fmt: skip


def _has_child(node: object, part: object) -> bool:
    if isinstance(node, dict):
        return part in node
    return isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)


def _resolve_unions(errors: Sequence[_Err]) -> list[_Err]:
    """Keep, at each union, the errors of the branch the admin meant (recursively).

    A branch whose only complaint is the value's type did not fit at all; among branches that fit,
    the one with the fewest errors is the likeliest intent. When none fits, one merged type error
    lists every shape the value may take.
    """
    out = [e for e in errors if not e.tags]
    sites: dict[YamlPath, list[_Err]] = {}
    for e in errors:
        if e.tags:
            sites.setdefault(e.path[: e.tags[0][0]], []).append(e)
    for site, group in sites.items():
        branches: dict[str, list[_Err]] = {}
        for e in group:
            branches.setdefault(e.tags[0][1], []).append(e)
        fitting = [b for b in branches.values() if not all(_is_type_error_at(e, site) for e in b)]
        if fitting:
            chosen = min(fitting, key=len)
            out.extend(_resolve_unions([replace(e, tags=e.tags[1:]) for e in chosen]))
        else:
            expected = [_EXPECTED[e.type] for e in group]
            out.append(_Err("union_type", (), site, (), group[0].input, ctx={"expected": expected}))
    return out


def _is_type_error_at(err: _Err, site: YamlPath) -> bool:
    return err.path == site and err.type in _EXPECTED and not err.on_key and err.missing is None


def _problem(doc: YamlDocument, model: type[BaseModel], e: _Err) -> Problem:
    """Word one error for an admin and place it on the key or value it is about."""
    pos = doc.positions
    if e.type == "extra_forbidden":
        key = str(e.path[-1])
        known = _model_fields(model, e.loc[:-1])
        line, col = pos.key_at(e.path)
        hint = did_you_mean(key, known) or (f"valid keys: {one_of(known)}" if known else None)
        where = f"in {dotted(e.path[:-1])}" if len(e.path) > 1 else "at the top level"
        return Problem(doc.file, line, col, f"unknown key '{key}' {where}", hint)
    if e.missing is not None:
        line, col = pos.key_at(e.path)
        hint = _field_description(model, e.loc)
        where = f"in {dotted(e.path)}" if e.path else "at the top level"
        return Problem(doc.file, line, col, f"missing key '{e.missing}' {where}", hint)
    line, col = pos.key_at(e.path) if e.on_key else pos.at(e.path)
    message, hint = _describe(model, e)
    return Problem(doc.file, line, col, message, hint)


def _describe(model: type[BaseModel], e: _Err) -> tuple[str, str | None]:
    """Message and hint for a bad value (or a bad key in a free-form map)."""
    label = _label(e.path)
    if e.type == "literal_error":
        choices = _literal_choices(model, e)
        message = f"{label} must be one of: {one_of(choices)} (found {_kind(e.input)})"
        quoted = [c for c in choices if str(c) == str(e.input)]
        if quoted:  # version: '1' is text, not the number 1
            return message, f"write {quoted[0]} without quotes"
        return message, did_you_mean(str(e.input), [str(c) for c in choices])
    if e.type == "string_pattern_mismatch":
        return _pattern_message(e, label)
    return _plain_message(e, label), None


def _plain_message(e: _Err, label: str) -> str:
    """Type and size errors: what was expected, and what the admin wrote."""
    expected = _either(e.ctx["expected"]) if e.type == "union_type" else _EXPECTED.get(e.type)
    if expected:
        return f"{label} must be {expected}; found {_kind(e.input)}"
    if e.type == "string_too_short":
        return f"{label} must not be empty"
    if e.type == "too_short":
        least = e.ctx.get("min_length", 1)
        return f"{label} must not be empty" if least == 1 else f"{label} needs {least}+ items"
    return f"{label}: {e.msg}"


def _pattern_message(e: _Err, label: str) -> tuple[str, str | None]:
    value = str(e.input)
    if e.on_key:
        fixed = re.sub(r"[^a-z0-9_]+", "_", value.lower()).strip("_")
        where = dotted(e.path[:-1])
        hint = f"did you mean '{fixed}'?" if fixed and fixed[0].isalpha() else None
        return f"'{value}' is not a valid name in {where}: {_NAME_RULE}", hint
    if "A-Z" in str(e.ctx.get("pattern", "")):
        return f"{label}: '{value}' is not a valid CRM field name: {_FIELD_RULE}", None
    return f"{label}: '{value}' is not a valid name: {_NAME_RULE}", None


def _label(path: YamlPath) -> str:
    """Short name of the value at ``path``: ``on_drift``, ``push.health``, ``patterns[0]``."""
    if not path:
        return "the file"
    if len(path) >= 2 and (isinstance(path[-1], int) or path[-2] in _FREE_MAPS):  # noqa: PLR2004
        return dotted(path[-2:])
    return str(path[-1])


def _either(expected: list[str]) -> str:
    kinds = list(dict.fromkeys(expected))
    if "a number" in kinds and "a whole number" in kinds:
        kinds.remove("a whole number")
    return kinds[0] if len(kinds) == 1 else f"{', '.join(kinds[:-1])} or {kinds[-1]}"


def _kind(value: object) -> str:
    """What the admin wrote, in words."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"'{value}'"
    return "a list" if isinstance(value, list) else "a mapping (key: value)"


def _literal_choices(model: type[BaseModel], e: _Err) -> list[object]:
    tp = _type_at(model, e.loc)
    if get_origin(tp) is Literal:
        return list(get_args(tp))
    return re.findall(r"'([^']*)'", str(e.ctx.get("expected", ""))) or [e.ctx.get("expected")]


def _model_fields(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    tp = _type_at(model, loc)
    return list(tp.model_fields) if _is_model(tp) else []


def _field_description(model: type[BaseModel], loc: tuple[Any, ...]) -> str | None:
    owner = _type_at(model, loc[:-1])
    info = owner.model_fields.get(str(loc[-1])) if _is_model(owner) else None
    return info.description if info else None


def _type_at(model: type[BaseModel], loc: tuple[Any, ...]) -> Any:
    """Follow ``loc`` (with pydantic's union tags) through the model's annotations."""
    tp: Any = model
    for part in loc:
        tp = _step(_strip(tp), part)
        if tp is None:
            return None
    return _strip(tp)


def _step(tp: Any, part: object) -> Any:
    origin = get_origin(tp)
    if _is_model(tp):
        info = tp.model_fields.get(str(part))
        return info.annotation if info else None
    if origin is dict:
        return None if part == "[key]" else get_args(tp)[1]
    if origin is list:
        return get_args(tp)[0]
    if origin in (Union, types.UnionType):
        named = [a for a in get_args(tp) if getattr(_strip(a), "__name__", None) == part]
        return named[0] if named else None
    return None


def _strip(tp: Any) -> Any:
    while get_origin(tp) is Annotated:
        tp = get_args(tp)[0]
    return tp


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)
