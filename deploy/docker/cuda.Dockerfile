# syntax=docker/dockerfile:1
# Spillway, CUDA image: GPU workers (`spillway worker --backend cuda`) through CuPy
# (the `cuda` extra; kernels compiled at run time by NVRTC, which the CUDA runtime
# image ships). Needs the NVIDIA Container Toolkit on the host. Build from the root:
#   docker build -f deploy/docker/cuda.Dockerfile -t spillway:cuda .
# Ubuntu 24.04's Python is 3.12 (pyproject: >=3.11,<3.14). Pin the base by digest too
# in a registry you control.

# --- builder: a virtual environment with the package, its C extension and CuPy ---
FROM nvidia/cuda:12.6.3-runtime-ubuntu24.04 AS builder
# Distribution packages follow the pinned base image's Ubuntu release.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev python3-dev python3-venv \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Exactly the releases CI tested, with CuPy for CUDA 12 (the base image's CUDA):
# requirements/*.txt pin every wheel by hash (`make lock`).
COPY requirements ./requirements
RUN python3 -m venv /opt/spillway \
    && /opt/spillway/bin/pip install --no-cache-dir --require-hashes --no-deps \
       -r requirements/build.txt \
    && /opt/spillway/bin/pip install --no-cache-dir --require-hashes --no-deps \
       -r requirements/cuda12.txt
COPY pyproject.toml setup.py README.md ./
COPY kernels ./kernels
COPY optimiser ./optimiser
COPY service ./service
COPY proto ./proto
RUN /opt/spillway/bin/pip install --no-cache-dir --no-deps --no-build-isolation . \
    && /opt/spillway/bin/pip check

# --- runtime: the CUDA runtime, Python, the virtual environment; non-root ---
FROM nvidia/cuda:12.6.3-runtime-ubuntu24.04
# pyproject.toml's version (a test checks that they agree).
LABEL org.opencontainers.image.title="spillway" \
      org.opencontainers.image.version="0.1.0"
# Distribution packages follow the pinned base image's Ubuntu release.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 \
    && rm -rf /var/lib/apt/lists/*
ENV PATH=/opt/spillway/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility \
    SPILLWAY_GRPC_LISTEN=0.0.0.0:50051 \
    SPILLWAY_METRICS_LISTEN=0.0.0.0:9464 \
    SPILLWAY_DATA_DIR=/var/lib/spillway/data \
    SPILLWAY_BACKEND=cuda \
    CUPY_CACHE_DIR=/var/lib/spillway/cupy-cache
RUN groupadd --system --gid 10001 spillway \
    && useradd --system --uid 10001 --gid spillway --home-dir /var/lib/spillway \
       --create-home --shell /usr/sbin/nologin spillway \
    && install -d -o spillway -g spillway /var/lib/spillway/data /var/lib/spillway/cupy-cache
COPY --from=builder /opt/spillway /opt/spillway
USER 10001:10001
WORKDIR /var/lib/spillway
EXPOSE 50051 9464
# gRPC health of a coordinator on this container's gRPC port (plaintext); worker
# containers override it (compose, Kubernetes probes).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os,sys,grpc;from grpc_health.v1 import health_pb2 as h,health_pb2_grpc as g;p=os.environ.get('SPILLWAY_GRPC_LISTEN',':50051').rpartition(':')[2];r=g.HealthStub(grpc.insecure_channel('127.0.0.1:'+p)).Check(h.HealthCheckRequest(),timeout=3);sys.exit(0 if r.status==h.HealthCheckResponse.SERVING else 1)"]
ENTRYPOINT ["spillway"]
CMD ["worker"]
