# Sizzle Edge: the edge server image. Serves a package built by `sizzle ingest`, mounted at /data.
#   docker build -t sizzle-edge .
#   docker run -p 8080:8080 -v $PWD/build/demo:/data:ro -e SIZZLE_SIGNING_KEYS=1:<64 hex> sizzle-edge
# Configuration is by environment (each SIZZLE_* supplies the default of a `sizzle serve` flag):
#   SIZZLE_CATALOG (/data/catalog.json; point it at a `current` symlink for hot swaps), SIZZLE_PORT,
#   SIZZLE_WORKERS (default: the CPUs the container may use, cgroup quota included),
#   SIZZLE_SIGNING_KEYS (required on more than one node), SIZZLE_PROFILES or SIZZLE_REDIS_URL,
#   SIZZLE_MEDIA_BASE_URL, SIZZLE_ACCESS_LOG_SAMPLE, SIZZLE_LOG_LEVEL, SIZZLE_LOG_FORMAT.

# --- build: wheels for the app and its dependencies into a self-contained virtual env -------------
FROM python:3.12-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/sizzle
WORKDIR /src
COPY pyproject.toml README.md ./
COPY edge ./edge
COPY manifests ./manifests
COPY ingest ./ingest
COPY loadtest ./loadtest
COPY conformance ./conformance
RUN /opt/sizzle/bin/pip install . \
 && find /opt/sizzle -name '__pycache__' -prune -exec rm -rf {} + \
 && /opt/sizzle/bin/python -c "import edge.serve, aiohttp.worker, prometheus_client, redis, uvloop"

# --- runtime: no compilers, no pip cache, no root --------------------------------------------------
FROM python:3.12-slim
RUN useradd --system --uid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin sizzle
COPY --from=build /opt/sizzle /opt/sizzle
ENV PATH=/opt/sizzle/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    SIZZLE_CATALOG=/data/catalog.json \
    SIZZLE_HOST=0.0.0.0 \
    SIZZLE_PORT=8080 \
    SIZZLE_LOG_FORMAT=json
USER 10001
EXPOSE 8080
# gunicorn's master drains on SIGTERM: in-flight requests finish (--graceful-timeout, 30 s), then exit 0
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=2s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/readyz' % os.environ.get('SIZZLE_PORT', '8080'), timeout=2)"]
ENTRYPOINT ["sizzle"]
CMD ["serve"]
