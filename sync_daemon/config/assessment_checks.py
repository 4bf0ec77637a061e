"""Rules of ``assessments.yaml`` that the models alone cannot say, checked on the raw YAML data.

Like the handoff checks (:mod:`sync_daemon.config.handoff_checks`), they run on the data as read, so they report
together with pydantic's findings, each at its line: personas must be the mapping's (or ``unknown``), a channel
must suit the mapping's CRM and have what it writes, one kind at most falls due at the handoff, question ids are
unique, the send window's zone and hours are real. Unknown keys are worded here too, with the nearest valid key,
because the model cannot name the keys of an optional section or of a channel. Where a rule owns a mistake the
model also sees, its position is in ``owned`` and the loader keeps this wording only. Anything of the wrong shape
is skipped: the model reports it.
"""

from __future__ import annotations

import re
import types
import zoneinfo
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel

from sync_daemon.config.assessment_models import UNKNOWN_PERSONA, AssessmentKind, AssessmentPolicy
from sync_daemon.config.errors import did_you_mean, one_of
from sync_daemon.config.plan_checks import IDENTIFIER, PlanChecker, get, items
from sync_daemon.config.yaml_positions import Position, YamlDocument, YamlPath, dotted

if TYPE_CHECKING:
    from sync_daemon.config.models import MappingFile

__all__ = ["CRM_FIELDS_PUSH", "DEFAULT_LIST", "AssessmentChecker"]

CRM_FIELDS_PUSH = ("assessment_kind", "assessment_persona", "assessment_cycle", "assessment_requested_at")
"""The contact push fields (canonical names) the ``crm_fields`` channel writes."""
DEFAULT_LIST = "default"
"""The ``hubspot_list`` key for the list of every persona without a list of its own."""

_CRM_NAMES = {"salesforce": "Salesforce", "hubspot": "HubSpot"}
_CHANNEL_CRM = {"salesforce_campaign": "salesforce", "hubspot_list": "hubspot"}
_TIME = re.compile(r"([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?")
_WINDOW = ("throttle", "window")
_VALUE_RULES = {
    "campaign_id": (
        re.compile(r"701[A-Za-z0-9]{12}([A-Za-z0-9]{3})?"),
        "is not a Salesforce Campaign id",
        "a Campaign id starts with 701 and has 15 or 18 characters; copy it from the campaign's page",
    ),
    "url": (re.compile(r"https?://\S+"), "is not a web address", "write the full URL, starting with https://"),
    "secret_env": (
        re.compile(r"[A-Z][A-Z0-9_]*"),
        "is not an environment variable name",
        "use capitals, digits and _, e.g. SYNC_WEBHOOK_SECRET; the secret itself never goes in this file",
    ),
}


class AssessmentChecker(PlanChecker):
    """Collects the problems of ``assessments.yaml`` against one mapping; one method per rule."""

    def __init__(self, doc: YamlDocument, mapping: MappingFile) -> None:
        """Hold the document and the mapping whose personas, CRM and contact push fields the policy uses."""
        super().__init__(doc, ())
        self.mapping = mapping
        self.personas = tuple(mapping.personas.names)
        self.owned: set[Position] = set()

    def own(self, path: YamlPath, message: str, hint: str | None = None, *, key: bool = False) -> None:
        """Record a problem the model also sees: the loader keeps this wording and drops the model's there."""
        self.at(path, message, hint, key=key)
        self.owned.add(self.doc.positions.key_at(path) if key else self.doc.positions.at(path))

    def policy(self) -> None:
        """Every rule of the assessment policy file."""
        self.unknown_keys(AssessmentPolicy, self.data, ())
        for kind, body in _mapping_items(get(self.data, "kinds")):
            self._kind(("kinds", kind), body)
        self._one_handoff_kind()
        self._persona_list(("coverage", "expected"))
        self._choices()
        self._window()

    # -- kinds -------------------------------------------------------------------------------------------------

    def _kind(self, path: YamlPath, kind: object) -> None:
        questions = items(kind, "questions")
        self._duplicates("question", [(get(q, "id"), (*path, "questions", i, "id")) for i, q in enumerate(questions)])
        for i, question in enumerate(questions):
            self._question(question, (*path, "questions", i))
        self._persona_list((*path, "personas"))
        self._channel(path, kind)

    def _question(self, question: object, path: YamlPath) -> None:
        """A question is a scale or a choice question: one of the two keys, not both."""
        if isinstance(question, dict) and "scale" in question and "choices" in question:
            hint = "keep scale for a number answer (0 to 10) or choices for a pick from a list"
            self.own((*path, "choices"), "a question takes scale or choices, not both", hint, key=True)
            self.owned.add(self.doc.positions.key_at((*path, "scale")))  # the model may word either as unknown

    def _persona_list(self, path: YamlPath) -> None:
        """Personas of the mapping or unknown, each once."""
        seen: set[str] = set()
        for i, name in enumerate(items(self.data, *path)):
            if isinstance(name, str) and name in seen:
                self.at((*path, i), f"persona '{name}' is listed twice in {dotted(path)}")
            seen.add(str(name))
            self._persona((*path, i), name, (*self.personas, UNKNOWN_PERSONA), dotted(path))

    def _persona(self, path: YamlPath, name: object, known: tuple[str, ...], where: str, *, key: bool = False) -> None:
        """A persona name the mapping does not have; ``key``: a free-form key (the model checks no name there)."""
        if not isinstance(name, str) or name in known or not IDENTIFIER.fullmatch(name.lower() if key else name):
            return
        crm = _CRM_NAMES[self.mapping.crm]
        hint = did_you_mean(name, known) or (
            f"the {crm} mapping's personas are {one_of(self.personas)}; add a new one to its personas.names"
        )
        self.at(path, f"unknown persona '{name}' in {where}", hint, key=key)

    def _one_handoff_kind(self) -> None:
        """Two kinds due at the handoff would ask the same people twice on one day."""
        first: YamlPath | None = None
        for kind, body in _mapping_items(get(self.data, "kinds")):
            if get(body, "cadence", "at") != "handoff":
                continue
            path: YamlPath = ("kinds", kind, "cadence", "at")
            if first is None:
                first = path
                continue
            hint = f"kind '{first[1]}' is due at the handoff already ({self.where(first)}); use every_months: N here"
            self.at(path, f"kind '{kind}' is a second kind due at the handoff; at most one may be", hint)

    # -- channels ----------------------------------------------------------------------------------------------

    def _channel(self, path: YamlPath, kind: object) -> None:
        channel = get(kind, "channel")
        where: YamlPath = (*path, "channel")
        if isinstance(channel, str) and channel in _CHANNELS:
            hint = f"write channel: {{type: {channel}}}"
            self.own(where, f"the channel of kind '{path[1]}' is a mapping with a type, not a name", hint)
        if not isinstance(channel, dict):
            return
        if "type" not in channel:
            self.own(where, f"the channel of kind '{path[1]}' needs a type", f"type: {one_of(_CHANNELS)}")
        elif not isinstance(channel["type"], str) or channel["type"] not in _CHANNELS:
            self._unknown_channel(where, channel.get("type"))
        else:
            self._channel_crm((*where, "type"), str(channel["type"]))
            self._hubspot_lists(where, kind, channel)
            self._crm_fields((*where, "type"), str(channel["type"]), str(path[1]))
            self._channel_values(where, channel)

    def _unknown_channel(self, where: YamlPath, name: object) -> None:
        hint = did_you_mean(str(name), _CHANNELS) or f"one of {one_of(_CHANNELS)}"
        self.at((*where, "type"), f"unknown channel type '{name}' in {dotted(where)}", hint)
        self.owned.add(self.doc.positions.at(where))  # the model's union-tag wording of the same mistake

    def _channel_crm(self, path: YamlPath, name: str) -> None:
        """A Salesforce campaign needs a Salesforce mapping; a HubSpot list a HubSpot one."""
        needs = _CHANNEL_CRM.get(name)
        if needs is None or needs == self.mapping.crm:
            return
        others = [t for t in _CHANNELS if _CHANNEL_CRM.get(t, self.mapping.crm) == self.mapping.crm]
        crm = _CRM_NAMES[self.mapping.crm]
        message = f"the {name} channel needs a {_CRM_NAMES[needs]} mapping; this mapping is for {crm}"
        self.at(path, message, f"with {crm}, use {one_of(others)}")

    def _hubspot_lists(self, where: YamlPath, kind: object, channel: dict[object, object]) -> None:
        """Every persona of the kind has a list, its own or the default one."""
        lists = channel.get("lists")
        if channel.get("type") != "hubspot_list" or not isinstance(lists, dict):
            return
        known = (*self.personas, UNKNOWN_PERSONA, DEFAULT_LIST)
        for name in lists:
            self._persona((*where, "lists", name), name, known, dotted((*where, "lists")), key=True)
        if DEFAULT_LIST in lists:
            return
        personas = [p for p in items(kind, "personas") if isinstance(p, str)]
        missing = [p for p in dict.fromkeys(personas) if p not in lists]
        if missing:
            hint = f"add a list id for each, or {DEFAULT_LIST}: '<list id>' for every persona without its own"
            self.at((*where, "lists"), f"no list for {one_of(missing)} in {dotted((*where, 'lists'))}", hint)

    def _channel_values(self, where: YamlPath, channel: dict[object, object]) -> None:
        """A campaign id, a URL and a variable name: their form, in words (the model's pattern says nothing)."""
        fields = _CHANNELS[str(channel["type"])].model_fields
        for key, (rule, message, hint) in _VALUE_RULES.items():
            value = channel.get(key)
            if key in fields and isinstance(value, str) and not rule.fullmatch(value):
                self.own((*where, key), f"{dotted((*where, key))} '{value}' {message}", hint)

    def _crm_fields(self, path: YamlPath, name: str, kind: str) -> None:
        """The crm_fields channel writes the contact's request fields: the mapping must push them."""
        if name != "crm_fields":
            return
        missing = [f for f in CRM_FIELDS_PUSH if f not in self.mapping.push_fields("contacts")]
        if not missing:
            return
        crm = _CRM_NAMES[self.mapping.crm]
        message = f"the crm_fields channel of kind '{kind}' writes contact fields the {crm} mapping does not push: "
        hint = f"add them to contacts.push of the mapping, e.g. {missing[0]}: <the CRM field>"
        self.at(path, message + one_of(missing), hint)

    # -- unknown persona, window -------------------------------------------------------------------------------

    def _choices(self) -> None:
        """The sentences let a contact say which known persona they are: no 'unknown' among them."""
        path: YamlPath = ("unknown_persona", "choices")
        for name in _mapping_keys(get(self.data, *path)):
            if name == UNKNOWN_PERSONA:
                hint = "remove it: the contact picks one of the known personas"
                self.at((*path, name), f"'{UNKNOWN_PERSONA}' cannot be a choice of {dotted(path)}", hint, key=True)
            elif isinstance(name, str) and IDENTIFIER.fullmatch(name):  # the model words a name of the wrong form
                self._persona((*path, name), name, self.personas, dotted(path), key=True)

    def _window(self) -> None:
        window = get(self.data, *_WINDOW)
        if not isinstance(window, dict):
            return
        for key in ("start", "end"):
            value = window.get(key)
            if key in window and not (isinstance(value, str) and _TIME.fullmatch(value)):
                hint = "write the hour as HH:MM in quotes, e.g. '09:00'"
                self.own((*_WINDOW, key), f"throttle.window.{key} {_shown(value)} is not a time of day", hint)
        zone = window.get("timezone")
        if isinstance(zone, str) and zone and not _is_zone(zone):
            hint = did_you_mean(zone, _zones()) or "use an IANA time zone name, e.g. Europe/Berlin or America/New_York"
            self.at((*_WINDOW, "timezone"), f"throttle.window.timezone '{zone}' is not a time zone", hint)

    # -- unknown keys ------------------------------------------------------------------------------------------

    def unknown_keys(self, tp: Any, data: object, path: YamlPath) -> None:
        """Walk ``data`` along the model's annotations; word every key no model there has."""
        tp = _strip(tp)
        if _is_model(tp):
            self._model_keys((tp,), data, path)
        elif get_origin(tp) in (Union, types.UnionType):
            self._model_keys(_union_models(tp, data), data, path)
        elif get_origin(tp) is dict and isinstance(data, dict):
            for key, value in data.items():
                self.unknown_keys(get_args(tp)[1], value, (*path, key))
        elif get_origin(tp) is list and isinstance(data, list):
            for i, value in enumerate(data):
                self.unknown_keys(get_args(tp)[0], value, (*path, i))

    def _model_keys(self, models: tuple[type[BaseModel], ...], data: object, path: YamlPath) -> None:
        if not models or not isinstance(data, dict):
            return
        fields = {name: info.annotation for model in models for name, info in model.model_fields.items()}
        for key, value in data.items():
            if key in fields:
                self.unknown_keys(fields[key], value, (*path, key))
            elif isinstance(key, str):
                hint = did_you_mean(key, fields) or f"valid keys: {one_of(fields)}"
                where = f"in {dotted(path)}" if path else "at the top level"
                self.own((*path, key), f"unknown key '{key}' {where}", hint, key=True)


def _union_models(tp: Any, data: object) -> tuple[type[BaseModel], ...]:
    """The models a value of a union may be: the one its ``type`` names, else all of them (their keys pooled)."""
    models = tuple(m for m in map(_strip, get_args(tp)) if _is_model(m))
    tags = {tag: m for m in models for tag in _type_tags(m)}
    if not tags or len(tags) < len(models):
        return models
    tag = get(data, "type")
    chosen = tags.get(tag) if isinstance(tag, str) else None
    return (chosen,) if chosen is not None else ()  # an unknown type is reported as such, not its keys


def _type_tags(model: type[BaseModel]) -> tuple[object, ...]:
    info = model.model_fields.get("type")
    annotation = _strip(info.annotation) if info is not None else None
    return get_args(annotation) if get_origin(annotation) is Literal else ()


def _channel_models() -> dict[str, type[BaseModel]]:
    """Channel type name to its model, read from the kind's own annotation (the single source of truth)."""
    models = (_strip(m) for m in get_args(_strip(AssessmentKind.model_fields["channel"].annotation)))
    return {str(tag): m for m in models for tag in _type_tags(m)}


def _strip(tp: Any) -> Any:
    while get_origin(tp) is Annotated:
        tp = get_args(tp)[0]
    return tp


def _is_model(tp: object) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _mapping_items(data: object) -> list[tuple[object, object]]:
    return list(data.items()) if isinstance(data, dict) else []


def _mapping_keys(data: object) -> list[object]:
    return list(data) if isinstance(data, dict) else []


def _is_zone(name: str) -> bool:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def _zones() -> set[str]:
    return zoneinfo.available_timezones()


def _shown(value: object) -> str:
    return f"'{value}'" if isinstance(value, str) else f"{value!r}" if value is not None else "(empty)"


_CHANNELS = _channel_models()
