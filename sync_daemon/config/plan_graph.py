"""Dependencies between a template's tasks: every name known, none on itself, no cycle.

A cycle would make due dates and the projected go-live impossible to compute, so it must stop the
daemon at load time, named the way an admin can fix it (``a -> b -> c -> a``) and placed at the
``depends_on`` entry of the cycle's first task in the file. A dependency on a task of a later phase
is allowed: phases group the work, the dependencies order it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sync_daemon.config.errors import Problem, did_you_mean

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sync_daemon.config.yaml_positions import YamlDocument, YamlPath

RawTask = tuple["YamlPath", dict[object, object]]


def check_dependencies(doc: YamlDocument, tasks: Sequence[RawTask]) -> list[Problem]:
    """Unknown, self and cyclic dependencies of the raw ``tasks`` (path and data, in file order)."""
    where: dict[str, YamlPath] = {}
    for path, task in tasks:
        if isinstance(task.get("id"), str):
            where.setdefault(str(task["id"]), path)
    problems: list[Problem] = []
    edges: dict[str, list[str]] = {}
    for path, task in tasks:
        own = task.get("id")
        for k, dep in _deps(task):
            at = doc.positions.at((*path, "depends_on", k))
            if dep == own:
                problems.append(Problem(doc.file, *at, f"task '{dep}' depends on itself", "remove it from depends_on"))
            elif dep not in where:
                hint = did_you_mean(dep, where) or "name a task id of this template"
                problems.append(Problem(doc.file, *at, f"task '{own}' depends on unknown task '{dep}'", hint))
            elif isinstance(own, str) and where[own] == path:
                edges.setdefault(own, []).append(dep)
    order = list(where)
    for cycle in find_cycles(order, edges):
        path = where[cycle[0]]
        k = next(k for k, dep in _deps(dict(tasks)[path]) if dep == cycle[1])
        line, col = doc.positions.at((*path, "depends_on", k))
        message = "dependency cycle: " + " -> ".join([*cycle, cycle[0]])
        problems.append(Problem(doc.file, line, col, message, "remove one of these dependencies"))
    return problems


def _deps(task: dict[object, object]) -> list[tuple[int, str]]:
    found = task.get("depends_on")
    if not isinstance(found, list):
        return []
    return [(k, dep) for k, dep in enumerate(found) if isinstance(dep, str)]


def find_cycles(order: Sequence[str], edges: dict[str, list[str]]) -> list[list[str]]:
    """Every cycle a depth-first walk meets, each starting at its member first in ``order``, once."""
    rank = {name: i for i, name in enumerate(order)}
    state: dict[str, int] = {}  # 1: on the current path, 2: finished
    cycles: dict[tuple[str, ...], None] = {}
    for start in order:
        if start in state:
            continue
        stack: list[tuple[str, int]] = [(start, 0)]
        state[start] = 1
        while stack:
            node, i = stack[-1]
            nexts = edges.get(node, [])
            if i == len(nexts):
                state[node] = 2
                stack.pop()
                continue
            stack[-1] = (node, i + 1)
            nxt = nexts[i]
            if state.get(nxt) == 1:
                members = [n for n, _ in stack]
                cycle = members[members.index(nxt) :]
                first = min(range(len(cycle)), key=lambda j: rank[cycle[j]])
                cycles.setdefault(tuple(cycle[first:] + cycle[:first]))
            elif nxt not in state:
                state[nxt] = 1
                stack.append((nxt, 0))
    return [list(c) for c in cycles]
