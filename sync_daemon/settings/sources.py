"""Turn an environ mapping into init arguments for the settings classes, collecting problems.

Kept apart from the models so that the one place that reads files (``NAME_FILE``, ``SYNC_ENV_FILE``)
is small and never puts a secret's content into a message: problems name the variable and the path.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from dotenv import dotenv_values
from pydantic import ValidationError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from sync_daemon.settings.models import _EnvSettings

S = TypeVar("S", bound="_EnvSettings")
FILE_SUFFIX = "_FILE"


def read_environment(environ: Mapping[str, str], problems: list[str]) -> dict[str, str]:
    """Upper-cased, non-empty variables, under those of ``SYNC_ENV_FILE`` when it is set.

    An empty value counts as unset: compose files and ``.env`` templates often carry ``NAME=``.
    """
    env = {key.upper(): value for key, value in environ.items() if value != ""}
    env_file = env.get("SYNC_ENV_FILE")
    if env_file is None:
        return env
    path = Path(env_file)
    if not path.is_file():
        problems.append(f"SYNC_ENV_FILE: no such file: {path}")
        return env
    from_file = {k.upper(): v for k, v in dotenv_values(path, interpolate=False).items() if v}
    return {**from_file, **env}


def resolve_secrets_dir(env: Mapping[str, str], default: Path | None, problems: list[str]) -> Path | None:
    """``SYNC_SECRETS_DIR``, else ``default``; used only when the directory exists.

    A directory that is absent is no error (an orchestrator mounts it only when there are secrets;
    pointing the variable at a path that does not exist is how one opts out of ``/run/secrets``),
    and a missing credential is reported anyway. A path that is a file is a mistake.
    """
    given = env.get("SYNC_SECRETS_DIR")
    path = Path(given) if given is not None else default
    if path is None or not path.exists():
        return None
    if not path.is_dir():
        problems.append(f"SYNC_SECRETS_DIR: not a directory: {path}")
        return None
    return path


def _read_secret_file(name: str, path: Path, problems: list[str]) -> str | None:
    """The file's text less one trailing newline; a problem (never the content) when unreadable."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        problems.append(f"{name}{FILE_SUFFIX}: no such file: {path}")
        return None
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(f"{name}{FILE_SUFFIX}: cannot read {path} ({type(exc).__name__})")
        return None
    if text.endswith("\r\n"):
        return text[:-2]
    return text.removesuffix("\n")


def init_arguments(cls: type[_EnvSettings], env: Mapping[str, str], problems: list[str]) -> dict[str, Any]:
    """The init arguments of ``cls`` found in ``env``, reading ``NAME_FILE`` for file fields."""
    kwargs: dict[str, Any] = {}
    for field in cls.model_fields:
        name = cls.env_name(field)
        file_name = name + FILE_SUFFIX
        if field in cls.file_fields and file_name in env:
            if name in env:
                problems.append(f"{name}: both {name} and {file_name} are set; keep one")
                continue
            value = _read_secret_file(name, Path(env[file_name]), problems)
            if value is not None:
                kwargs[field] = value
        elif name in env:
            kwargs[field] = env[name]
    return kwargs


def build(cls: type[S], env: Mapping[str, str], secrets_dir: Path | None, problems: list[str]) -> S | None:
    """An instance of ``cls``, with every validation error appended to ``problems``.

    When some fields are invalid, the instance is rebuilt without them (their defaults), so that
    the cross-field checks still run and the admin sees every problem in one go; the loader raises
    anyway.
    """
    kwargs = init_arguments(cls, env, problems)
    try:
        return cls(_secrets_dir=secrets_dir, **kwargs)
    except ValidationError as exc:
        problems.extend(validation_problems(cls, exc))
        bad = {str(error["loc"][0]) for error in exc.errors() if error["loc"]}
    try:
        return cls(_secrets_dir=secrets_dir, **{k: v for k, v in kwargs.items() if k not in bad})
    except ValidationError:
        return None


def validation_problems(cls: type[_EnvSettings], exc: ValidationError) -> list[str]:
    """One line per error naming the variable; pydantic's ``input`` (maybe a secret) is left out."""
    problems = []
    for error in exc.errors(include_input=False, include_url=False):
        loc = error["loc"]
        name = cls.env_name(str(loc[0])) if loc else type(cls).__name__
        message = error["msg"].removeprefix("Value error, ")
        problems.append(f"{name}: {message}")
    return problems
