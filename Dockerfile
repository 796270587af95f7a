# syntax=docker/dockerfile:1
# Build stage: build a wheel so the runtime image carries no compilers or caches.
FROM python:3.11-slim AS build
WORKDIR /src
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

# Runtime stage: the package and its dependencies only, running as an unprivileged user.
FROM python:3.11-slim
RUN useradd --create-home --uid 10001 newswatch
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/* && rm -rf /wheels
COPY config /etc/newswatch
# State (the embedded SQLite store, an archive) lives on a volume, so it outlives the container: mount a named
# volume here (docker run -v newswatch-state:/home/newswatch/state …); --rm deletes an anonymous one.
RUN mkdir -p /home/newswatch/state && chown newswatch:newswatch /home/newswatch/state
VOLUME /home/newswatch/state
USER newswatch
ENV XDG_STATE_HOME=/home/newswatch/state
# Healthy when /healthz answers 200; a config without `http: {listen: "${NEWSWATCH_HTTP_LISTEN:-}"}` has no
# endpoint, and then only the process itself is watched.  The slim image has no curl: Python does the GET.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s CMD ["python", "-c", "import os, sys, urllib.request; listen = os.environ.get('NEWSWATCH_HTTP_LISTEN'); sys.exit(0) if not listen else urllib.request.urlopen('http://127.0.0.1:' + listen.rsplit(':', 1)[1] + '/healthz', timeout=4)"]
WORKDIR /home/newswatch
ENTRYPOINT ["newswatch"]
CMD ["run", "-c", "/etc/newswatch/example.yaml"]
