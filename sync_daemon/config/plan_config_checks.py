"""Rules of ``plans.yaml`` that the models alone cannot say: templates and fields named, calendar, health.

Checked on the raw data, like the template rules (:mod:`sync_daemon.config.plan_checks`), so that
every problem of the folder is reported at once.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, get_args

from sync_daemon.config.errors import did_you_mean, one_of
from sync_daemon.config.plan_checks import IDENTIFIER, ISO_DATE, PlanChecker, get, items
from sync_daemon.config.plan_models import Weekday
from sync_daemon.config.yaml_positions import YamlPath, dotted

if TYPE_CHECKING:
    from collections.abc import Collection

_DEFAULT_HEALTH = {"at_risk_slip_days": 7, "off_track_slip_days": 21}


class PlansConfigChecker(PlanChecker):
    """Collects the problems of ``plans.yaml``; one method per rule."""

    def plans_config(self, template_ids: Collection[str]) -> None:
        """Every rule of ``plans.yaml``: templates named, conditions, start fields, calendar, health."""
        self._templates_named(frozenset(template_ids))
        for i, rule in enumerate(items(self.data, "segments")):
            self.condition(get(rule, "when"), ("segments", i, "when"))
        self._start_fields()
        self._weekend()
        self._holidays()
        self._health()

    def _templates_named(self, template_ids: frozenset[str]) -> None:
        refs = [(("segments", i, "template"), get(r, "template")) for i, r in enumerate(items(self.data, "segments"))]
        for path, name in [*refs, (("default",), get(self.data, "default"))]:
            if isinstance(name, str) and IDENTIFIER.fullmatch(name) and name not in template_ids:
                found = f"templates in this folder: {one_of(sorted(template_ids))}" if template_ids else None
                self.at(path, f"unknown template '{name}' in {dotted(path)}", did_you_mean(name, template_ids) or found)

    def _start_fields(self) -> None:
        """The plan start (and its fallback) must be fields the mapping pulls, or no plan ever starts."""
        for key, default in (("start_field", "onboarding_start"), ("fallback_start_field", "close_date")):
            explicit = isinstance(self.data, dict) and key in self.data
            name = get(self.data, key) if explicit else default
            if not isinstance(name, str) or not IDENTIFIER.fullmatch(name) or name in self.known_fields:
                continue
            said = "" if explicit else " (the default)"
            hint = did_you_mean(name, self.known_fields) or "use a date field the mapping pulls"
            self.at((key,) if explicit else (), f"{key} '{name}'{said} is not a field the mapping pulls", hint)

    def _weekend(self) -> None:
        days = {d for d in items(self.data, "calendar", "weekend") if isinstance(d, str)}
        if days >= set(get_args(Weekday)):
            message = "calendar.weekend covers every day of the week: no business day would ever come"
            self.at(("calendar", "weekend"), message, "list only the days off, e.g. [sat, sun]")

    def _holidays(self) -> None:
        """Holidays are dates (YYYY-MM-DD), each listed once."""
        seen: dict[dt.date, YamlPath] = {}
        for i, raw in enumerate(items(self.data, "calendar", "holidays")):
            path = ("calendar", "holidays", i)
            day = _as_date(raw)
            if day is None:
                if isinstance(raw, str | int) and not isinstance(raw, bool):
                    self.at(path, f"holiday '{raw}' is not a date", "write it as YYYY-MM-DD, e.g. 2026-12-25")
                    self.stand_ins[path] = "2000-01-01"
                continue
            if day in seen:
                self.at(path, f"holiday {day.isoformat()} is listed twice", f"first listed at {self.where(seen[day])}")
            seen.setdefault(day, path)

    def _health(self) -> None:
        """A plan turns at risk before it turns off track."""
        health = get(self.data, "health")
        given = health if isinstance(health, dict) else {}
        at_risk, off_track = (given.get(k, d) for k, d in _DEFAULT_HEALTH.items())
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (at_risk, off_track)):
            return
        if at_risk >= off_track:
            key = "at_risk_slip_days" if "at_risk_slip_days" in given else "off_track_slip_days"
            message = f"health.at_risk_slip_days ({at_risk}) must be below health.off_track_slip_days ({off_track})"
            self.at(("health", key), message, "a plan turns at risk before it turns off track")


def _as_date(raw: object) -> dt.date | None:
    if isinstance(raw, dt.date):
        return raw
    if isinstance(raw, str) and ISO_DATE.fullmatch(raw.strip()):
        try:
            return dt.date.fromisoformat(raw.strip())
        except ValueError:
            return None
    return None
