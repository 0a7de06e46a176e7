# syntax=docker/dockerfile:1
# Spillway, CPU image: coordinator (`spillway serve`, the default) and CPU workers
# (`spillway worker`). Build from the repository root:
#   docker build -f deploy/docker/cpu.Dockerfile -t spillway:cpu .
# Base images are pinned by version; pin by digest too (@sha256:...) in a registry
# you control, e.g. with `docker buildx imagetools inspect python:3.11.14-slim-bookworm`.

# --- builder: compile the C extension (kernels._cpu) and collect every wheel ---
FROM python:3.11.14-slim-bookworm AS builder
# libc6-dev must match the libc6 of the pinned base image, so it follows that pin.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc=4:12.2.0-3 libc6-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Exactly the releases CI tested: requirements/*.txt pin every wheel by hash (`make lock`).
COPY requirements ./requirements
RUN pip install --no-cache-dir --require-hashes --no-deps -r requirements/build.txt \
    && pip wheel --no-cache-dir --require-hashes --no-deps --wheel-dir /wheels \
       -r requirements/runtime.txt
COPY pyproject.toml setup.py README.md ./
COPY kernels ./kernels
COPY optimiser ./optimiser
COPY service ./service
COPY proto ./proto
RUN pip wheel --no-cache-dir --no-deps --no-build-isolation --wheel-dir /wheels .

# --- runtime: no compiler, no sources, a non-root user ---
FROM python:3.11.14-slim-bookworm
# pyproject.toml's version (a test checks that they agree).
LABEL org.opencontainers.image.title="spillway" \
      org.opencontainers.image.version="0.1.0"
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    SPILLWAY_GRPC_LISTEN=0.0.0.0:50051 \
    SPILLWAY_METRICS_LISTEN=0.0.0.0:9464 \
    SPILLWAY_DATA_DIR=/var/lib/spillway/data
RUN groupadd --system --gid 10001 spillway \
    && useradd --system --uid 10001 --gid spillway --home-dir /var/lib/spillway \
       --create-home --shell /usr/sbin/nologin spillway \
    && install -d -o spillway -g spillway /var/lib/spillway/data
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --find-links /wheels spillway==0.1.0
USER 10001:10001
WORKDIR /var/lib/spillway
EXPOSE 50051 9464
# gRPC health (grpcio-health-checking is a dependency) of the coordinator on this
# container's gRPC port. Plaintext only: with TLS the service needs a plaintext
# health port (see deploy/README.md). Worker containers override this check.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os,sys,grpc;from grpc_health.v1 import health_pb2 as h,health_pb2_grpc as g;p=os.environ.get('SPILLWAY_GRPC_LISTEN',':50051').rpartition(':')[2];r=g.HealthStub(grpc.insecure_channel('127.0.0.1:'+p)).Check(h.HealthCheckRequest(),timeout=3);sys.exit(0 if r.status==h.HealthCheckResponse.SERVING else 1)"]
ENTRYPOINT ["spillway"]
CMD ["serve"]
