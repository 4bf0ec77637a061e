# syntax=docker/dockerfile:1
# Build stage: a wheel of the project and its dependencies.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md CHANGELOG.md ./
COPY sync_daemon ./sync_daemon
COPY connectors ./connectors
COPY mappings ./mappings
COPY config ./config
RUN pip install --no-cache-dir --upgrade pip==24.3.1 \
 && pip wheel --no-cache-dir --wheel-dir /wheels .

# Runtime stage: slim, non-root, state on /data (or PostgreSQL), read-only root filesystem friendly.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    SYNC_DATA_DIR=/data \
    SYNC_DATABASE_URL=sqlite:////data/sync-daemon.db \
    SYNC_LOG_FORMAT=json
RUN useradd --system --uid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin sync \
 && mkdir -p /data && chown sync /data
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links=/wheels crm-onboarding-sync && rm -rf /wheels
USER sync
VOLUME ["/data"]
ENTRYPOINT ["sync-daemon"]
CMD ["sync"]
