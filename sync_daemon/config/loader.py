"""Load mapping files: YAML with positions, model validation and cross-field checks, in one pass.

Bad configuration must stop the daemon before it writes anything, with every problem listed by file
and line; so a file is read completely, every check runs, and only then does loading succeed or
raise one :class:`ConfigError` carrying all of them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sync_daemon.config.checks import check_mapping
from sync_daemon.config.errors import ConfigError, Problem, sort_problems
from sync_daemon.config.models import MappingFile
from sync_daemon.config.translate import validate_document
from sync_daemon.config.yaml_positions import PositionIndex, YamlDocument, read_yaml

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

__all__ = [
    "ConfigError",
    "PositionIndex",
    "Problem",
    "YamlDocument",
    "load_mapping",
    "load_mapping_with_positions",
    "validate_files",
]


def load_mapping(path: Path) -> MappingFile:
    """Load and fully validate a mapping file; raise :class:`ConfigError` listing every problem."""
    return load_mapping_with_positions(path)[0]


def load_mapping_with_positions(path: Path) -> tuple[MappingFile, PositionIndex]:
    """Like :func:`load_mapping`, also returning where each value sits (``validate --remote``)."""
    doc = read_yaml(path)
    mapping, problems = validate_mapping_document(doc)
    if problems or mapping is None:
        raise ConfigError(problems)
    return mapping, doc.positions


def validate_mapping_document(doc: YamlDocument) -> tuple[MappingFile | None, list[Problem]]:
    """Validate a parsed mapping file: the model when clean, and every problem found either way."""
    if doc.data is None:
        empty = Problem(doc.file, None, None, "the file is empty", "see mappings/salesforce.yaml")
        return None, [empty]
    mapping, problems = validate_document(doc, MappingFile)
    problems = [*doc.problems, *problems, *check_mapping(doc)]
    return (mapping if not problems else None), sort_problems(problems)


def validate_files(mapping_paths: Sequence[Path]) -> list[Problem]:
    """Every problem in the given mapping files (none when all are valid), sorted by position."""
    problems: list[Problem] = []
    for path in mapping_paths:
        try:
            load_mapping_with_positions(path)
        except ConfigError as exc:
            problems.extend(exc.problems)
    return sort_problems(problems)
