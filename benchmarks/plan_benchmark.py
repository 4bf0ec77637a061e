"""Wall time and peak memory of evaluating onboarding plans for many accounts (the pure core only).

A 22-task, 5-phase template (built in code, shaped like the enterprise plan: security review, legal, procurement)
is evaluated for N accounts, each with a random start in the last 200 days and a random set of tasks done
(mostly in dependency order, some ticked out of order). The cycle keeps only the CRM field values of each
evaluation, so the timed loop does the same; a second, identical pass runs under ``tracemalloc`` for the peak of
Python allocations (tracemalloc slows the loop, so its time is not the one reported).

Usage::

    .venv/bin/python benchmarks/plan_benchmark.py --accounts 100000

Results are appended to ``benchmarks/RESULTS.md`` with the command that produced them (``--no-record`` to skip).
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import random
import resource
import sys
import time
import tracemalloc
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from sync_daemon.config.plan_models import HealthThresholds, Phase, PlanTemplate, Task  # noqa: E402
from sync_daemon.domain.calendar import WorkCalendar  # noqa: E402
from sync_daemon.domain.plans import PlanEvaluation, PlanEvaluator  # noqa: E402

TODAY = date(2026, 6, 15)
# (phase, task id, side, duration, dependencies, due offset)
SPEC = [
    ("kickoff", "kickoff_call", "vendor", "1bd", [], None),
    ("kickoff", "success_plan", "vendor", "3bd", ["kickoff_call"], None),
    ("kickoff", "admin_named", "customer", "2bd", ["kickoff_call"], None),
    ("commercial", "order_form", "vendor", "2bd", [], "5bd"),
    ("commercial", "msa_review", "customer", "10bd", ["order_form"], None),
    ("commercial", "dpa_signed", "customer", "5bd", ["msa_review"], None),
    ("commercial", "vendor_registration", "customer", "10bd", ["order_form"], "20bd"),
    ("commercial", "billing_setup", "vendor", "2bd", ["vendor_registration"], None),
    ("security", "questionnaire", "customer", "2w", ["kickoff_call"], None),
    ("security", "pen_test_report", "vendor", "3bd", ["questionnaire"], None),
    ("security", "security_signoff", "customer", "5bd", ["pen_test_report", "dpa_signed"], None),
    ("setup", "provision_tenant", "vendor", "1bd", ["order_form"], None),
    ("setup", "licenses_assigned", "vendor", "1bd", ["provision_tenant", "billing_setup"], None),
    ("setup", "sso_config", "customer", "5bd", ["provision_tenant", "security_signoff"], None),
    ("setup", "data_export", "customer", "10bd", ["admin_named"], None),
    ("setup", "data_import", "vendor", "5bd", ["data_export", "provision_tenant"], None),
    ("setup", "integrations", "vendor", "10bd", ["sso_config"], None),
    ("launch", "admin_training", "vendor", "2bd", ["sso_config", "admin_named"], None),
    ("launch", "user_training", "vendor", "5bd", ["admin_training", "data_import"], None),
    ("launch", "pilot", "customer", "2w", ["user_training", "integrations"], None),
    ("launch", "go_live", "vendor", "1bd", ["pilot", "licenses_assigned"], None),
    ("launch", "first_value", "customer", "3w", ["go_live"], None),
]


def build_template() -> PlanTemplate:
    """The benchmark template: 22 tasks in 5 phases, 28 dependencies, two deadlines."""
    phases: dict[str, list[Task]] = {}
    for phase_id, task_id, side, duration, deps, due in SPEC:
        kind = "internal" if phase_id in {"commercial", "security"} else "customer_facing"
        phases.setdefault(phase_id, []).append(
            Task(
                id=task_id,
                title=task_id.replace("_", " ").capitalize(),
                side=side,  # type: ignore[arg-type]
                kind=kind,  # type: ignore[arg-type]
                owner="onboarding_manager",
                duration=duration,
                due=due,
                depends_on=deps,
            )
        )
    return PlanTemplate(
        version=1,
        id="enterprise",
        name="Enterprise plan",
        revision=1,
        target_days=120,
        phases=[Phase(id=pid, name=pid.capitalize(), tasks=tasks) for pid, tasks in phases.items()],
    )


def build_accounts(count: int, seed: int) -> list[tuple[date, dict[str, date]]]:
    """Per account: a start in the last 200 days and the tasks done by today, with their dates."""
    rng = random.Random(seed)  # noqa: S311 - seeded benchmark data, not cryptography
    ids = [row[1] for row in SPEC]
    accounts = []
    for _ in range(count):
        start = TODAY - timedelta(days=rng.randrange(200))
        span = max((TODAY - start).days, 1)
        share = rng.random()
        done = {tid: start + timedelta(days=rng.randrange(span)) for tid in ids if rng.random() < share}
        accounts.append((start, done))
    return accounts


def fields(ev: PlanEvaluation) -> tuple[object, ...]:
    """The daemon-owned CRM fields of one plan: what the cycle keeps to diff against the CRM."""
    return (
        ev.template_name,
        ev.progress,
        ev.current_phase_name,
        ev.overdue_count,
        ev.next_task_title,
        ev.next_task_due,
        ev.projected_go_live,
        ev.slip_days,
        ev.health,
        ev.waiting_on_customer,
        ev.summary,
    )


def run(evaluator: PlanEvaluator, accounts: list[tuple[date, dict[str, date]]]) -> list[tuple[object, ...]]:
    """Evaluate every account, keeping its CRM field values."""
    return [fields(evaluator.evaluate(start, done, TODAY)) for start, done in accounts]


def measure(count: int, seed: int) -> dict[str, float]:
    """Time the evaluation pass, then repeat it under tracemalloc for its peak allocation."""
    template = build_template()
    t0 = time.perf_counter()
    calendar = WorkCalendar({5, 6}, frozenset({date(2026, 1, 1), date(2026, 5, 25), date(2026, 7, 3)}))
    evaluator = PlanEvaluator(template, calendar, HealthThresholds())
    setup = time.perf_counter() - t0
    accounts = build_accounts(count, seed)
    gc.collect()
    t0 = time.perf_counter()
    results = run(evaluator, accounts)
    wall = time.perf_counter() - t0
    assert len(results) == count
    del results
    gc.collect()
    evaluator = PlanEvaluator(template, calendar, HealthThresholds())  # cold caches again
    tracemalloc.start()  # the inputs were built before: the peak is the evaluation and its kept field values
    kept = run(evaluator, accounts)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(kept) == count
    return {
        "accounts": count,
        "setup_ms": setup * 1000,
        "wall_s": wall,
        "per_plan_us": wall / count * 1e6,
        "traced_peak_mib": peak / 2**20,
        "max_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def record(rows: list[dict[str, float]], command: str) -> str:
    """The RESULTS.md section for these rows."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "",
        f"## Plan evaluation benchmark, {stamp}",
        f"Command: `{command}`  ",
        f"Machine: {_cores()} cores, Python {platform.python_version()}, {platform.system()}. Template: 22 tasks,",
        "5 phases, 28 dependencies, 2 deadlines; random starts over 200 days and random done sets. Setup = calendar",
        "index + template compile. Traced peak = Python allocations of the evaluation pass and the CRM field values",
        "it keeps (inputs excluded); max RSS = the whole process, the 100,000 input done-sets included.",
        "",
        "| accounts | setup (ms) | evaluate all (s) | per plan (µs) | traced peak (MiB) | max RSS (MiB) |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    lines += [
        f"| {int(r['accounts']):,} | {r['setup_ms']:.1f} | {r['wall_s']:.2f} | {r['per_plan_us']:.1f} "
        f"| {r['traced_peak_mib']:.1f} | {r['max_rss_mib']:.1f} |"
        for r in rows
    ]
    return "\n".join(lines) + "\n"


def _cores() -> int:
    return os.cpu_count() or 1


def main() -> None:
    """Parse the arguments, measure each size, print the section and append it to RESULTS.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--accounts", type=int, nargs="+", default=[100_000])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-record", action="store_true", help="print only; do not append to RESULTS.md")
    args = parser.parse_args()
    rows = [measure(count, args.seed) for count in args.accounts]
    command = "python benchmarks/plan_benchmark.py --accounts " + " ".join(str(n) for n in args.accounts)
    section = record(rows, command)
    print(section)
    if not args.no_record:
        with (HERE / "RESULTS.md").open("a", encoding="utf-8") as out:
            out.write(section)


if __name__ == "__main__":
    main()
