"""Wall time and peak memory of a full pull, then of a no-change incremental pull, per CRM and size.

The sandbox CRM runs in its own process (``sync-daemon sandbox``), so the peak RSS measured is the daemon's
alone (``os.wait4`` gives the child's own ``ru_maxrss``). The daemon runs the real ``sync-daemon sync`` command
with its real rate limiter and client libraries, against loopback only.

Usage::

    .venv/bin/python benchmarks/pull_benchmark.py --crm salesforce hubspot --contacts 10000 100000

Results are appended to ``benchmarks/RESULTS.md`` with the command that produced them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _start_sandbox(crm: str, accounts: int, contacts: int, env_file: Path) -> subprocess.Popen[bytes]:
    cmd = [
        sys.executable,
        "-m",
        "sync_daemon",
        "sandbox",
        "--crm",
        crm,
        "--accounts",
        str(accounts),
        "--contacts",
        str(contacts),
        "--env-file",
        str(env_file),
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while not env_file.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"sandbox did not start: {cmd}")
        time.sleep(0.2)
    return proc


def _sandbox_env(env_file: Path) -> dict[str, str]:
    out = {}
    for line in env_file.read_text(encoding="utf-8").splitlines():
        key, _, value = line.removeprefix("export ").partition("=")
        out[key] = value
    return out


def _sync(env: dict[str, str], log: Path) -> dict[str, object]:
    with log.open("w") as err, tempfile.TemporaryFile() as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "sync_daemon", "sync", "--output", "json"],
            env=env,
            stdout=out,
            stderr=err,
        )
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        out.seek(0)
        body = out.read().decode()
    if status != 0:
        raise RuntimeError(f"sync failed ({status}); see {log}")
    data = json.loads(body)
    return {
        "wall_s": round(wall, 2),
        "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
        "result": data,
    }


def measure(crm: str, contacts: int) -> dict[str, object]:
    """Full pull then a no-change pull of ``contacts`` contacts (and a fifth as many accounts)."""
    accounts = contacts // 5
    with tempfile.TemporaryDirectory(prefix="sync-bench-") as tmp:
        tmpdir = Path(tmp)
        sandbox = _start_sandbox(crm, accounts, contacts, tmpdir / "sandbox.env")
        try:
            env = {
                **os.environ,
                **_sandbox_env(tmpdir / "sandbox.env"),
                "SYNC_DATABASE_URL": f"sqlite:///{tmpdir / 'state.db'}",
                "SYNC_LOG_FORMAT": "json",
            }
            full = _sync(env, tmpdir / "full.log")
            again = _sync(env, tmpdir / "again.log")
        finally:
            sandbox.terminate()
            sandbox.wait(timeout=30)
    return {"crm": crm, "accounts": accounts, "contacts": contacts, "full": full, "again": again}


def _row(m: dict[str, object]) -> str:
    full, again = m["full"], m["again"]
    assert isinstance(full, dict)
    assert isinstance(again, dict)
    fr, ar = full["result"], again["result"]
    return (
        f"| {m['crm']} | {m['accounts']:,} | {m['contacts']:,} | {full['wall_s']} | {full['peak_rss_mib']} | "
        f"{fr['api_calls']:,} | {again['wall_s']} | {ar['api_calls']} | "
        f"{ar['objects']['accounts']['stored'] + ar['objects']['contacts']['stored']} |"
    )


def main() -> None:
    """Measure and append a results table to RESULTS.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--crm", nargs="+", default=["salesforce", "hubspot"])
    parser.add_argument("--contacts", nargs="+", type=int, default=[10_000, 100_000])
    parser.add_argument("--out", type=Path, default=HERE / "RESULTS.md")
    args = parser.parse_args()
    rows = []
    for crm in args.crm:
        for n in args.contacts:
            m = measure(crm, n)
            print(json.dumps(m, default=str))
            rows.append(_row(m))
    cmd = " ".join(
        [
            "python",
            "benchmarks/pull_benchmark.py",
            "--crm",
            *args.crm,
            "--contacts",
            *map(str, args.contacts),
        ]
    )
    header = [
        f"\n## Pull benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"Command: `{cmd}`  ",
        f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}.\n",
        "| CRM | accounts | contacts | full pull (s) | peak RSS (MiB) | API calls | re-pull (s) | calls | stored |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    with args.out.open("a", encoding="utf-8") as fh:
        fh.write("\n".join(header + rows) + "\n")


if __name__ == "__main__":
    main()
