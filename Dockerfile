# syntax=docker/dockerfile:1
# sync-daemon's image: `sync-daemon run` as uid 10001 on a read-only root filesystem, state on the /data volume
# (SQLite) or in PostgreSQL, configuration only from environment variables and mounted files (README: Deployment).
#
# The install steps live in docker/install.sh, which tests/integration/test_container.py replays from this file's
# `install.sh` lines in a temporary root: keep every install step in that script.
#
# The base is pinned to a Debian release as well as a Python minor version, so a rebuild never moves to another
# libc or OpenSSL underneath the wheels; rebuild regularly for the security fixes of both.

# --- Build stage: a wheel of the project and of every dependency -------------------------------------------------
FROM python:3.11-slim-bookworm AS builder
WORKDIR /src
COPY pyproject.toml README.md ./
COPY docker/install.sh docker/
COPY sync_daemon sync_daemon/
COPY connectors connectors/
COPY mappings mappings/
COPY config config/
RUN --mount=type=cache,target=/root/.cache/pip \
    sh docker/install.sh wheels /src /wheels

# --- Runtime stage: the wheels installed into a virtual environment, nothing else from the build ---------------
FROM python:3.11-slim-bookworm
LABEL org.opencontainers.image.title="crm-onboarding-sync" \
      org.opencontainers.image.description="sync-daemon: keeps Salesforce or HubSpot the source of onboarding context" \
      org.opencontainers.image.licenses="Apache-2.0"
# No bytecode written at run time (the root filesystem is read-only; the install compiled it), logs unbuffered as
# JSON lines for the log collector, state under /data.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    SYNC_DATA_DIR=/data \
    SYNC_LOG_FORMAT=json
# The wheels and the script are mounted for this step only, so neither stays in a layer of the image.
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    --mount=type=bind,from=builder,source=/src/docker,target=/src/docker \
    sh /src/docker/install.sh venv /wheels /opt/venv

# The shipped mappings and policy files, owned by root: the daemon reads them and cannot change them. Mount your
# own over /app/mappings and /app/config (read-only).
WORKDIR /app
COPY mappings mappings/
COPY config config/
COPY docker/healthcheck.py /opt/sync-daemon/healthcheck.py

RUN groupadd --system --gid 10001 sync \
 && useradd --system --no-log-init --uid 10001 --gid 10001 --home-dir /nonexistent --no-create-home \
        --shell /usr/sbin/nologin sync \
 && mkdir /data \
 && chown 10001:10001 /data \
 && chmod 0750 /data

VOLUME ["/data"]
EXPOSE 8080
# Liveness only (/healthz: the process answers). /readyz is for an orchestrator's readiness probe, not for this.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "/opt/sync-daemon/healthcheck.py"]
USER 10001:10001
ENTRYPOINT ["sync-daemon"]
CMD ["run"]
