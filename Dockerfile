# Sizzle Edge: the edge server image. Serves a package built by `sizzle ingest`, mounted at /data.
#   docker build -t sizzle-edge .
#   docker run -p 8080:8080 -v $PWD/build/demo:/data:ro -e SIZZLE_SIGNING_KEYS=1:<64 hex> sizzle-edge
FROM python:3.12-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY edge ./edge
COPY manifests ./manifests
COPY ingest ./ingest
COPY loadtest ./loadtest
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.12-slim
RUN useradd --system --uid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin sizzle
COPY --from=build /install /usr/local
ENV PYTHONUNBUFFERED=1 \
    SIZZLE_CATALOG=/data/catalog.json \
    SIZZLE_PORT=8080
USER sizzle
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=2s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('SIZZLE_PORT', '8080'), timeout=2)"]
CMD ["sh", "-c", "exec sizzle serve --catalog \"$SIZZLE_CATALOG\" --host 0.0.0.0 --port \"$SIZZLE_PORT\" ${SIZZLE_PROFILES:+--profiles \"$SIZZLE_PROFILES\"}"]
