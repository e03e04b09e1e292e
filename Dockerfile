# syntax=docker/dockerfile:1.7
#
# One image for the three Lanes services; the command picks the service:
#   python -m lanes_auth | python -m lanes_gateway | python -m lanes_processor
# docker-compose.yml and deploy/k8s set that command per container.
#
#   docker build -t lanes:local .
#
# The build stage resolves everything from uv.lock (`--frozen`: the image gets
# exactly the versions the tests ran against) into a virtualenv; the runtime
# stage copies only that virtualenv onto a clean Python image, so no uv, no
# build tools, no source tree and no caches reach the final layer.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG UV_IMAGE=ghcr.io/astral-sh/uv:0.13.9

FROM ${UV_IMAGE} AS uv

FROM ${PYTHON_IMAGE} AS build
COPY --from=uv /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3 \
    UV_PROJECT_ENVIRONMENT=/opt/lanes/venv
WORKDIR /src

# Dependencies first, from the manifests alone, so that this layer is rebuilt
# only when uv.lock or a pyproject.toml changes, not on every code change.
# uv needs every workspace member's manifest to read the workspace, including
# tools/devstack, which is not installed.
COPY pyproject.toml uv.lock ./
COPY libs/common/pyproject.toml libs/common/pyproject.toml
COPY services/auth/pyproject.toml services/auth/pyproject.toml
COPY services/gateway/pyproject.toml services/gateway/pyproject.toml
COPY services/processor/pyproject.toml services/processor/pyproject.toml
COPY tools/devstack/pyproject.toml tools/devstack/pyproject.toml
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-workspace \
        --package lanes-auth --package lanes-gateway --package lanes-processor

# Then the code, installed as regular (not editable) packages so that the
# virtualenv stands on its own without /src.
COPY libs/common libs/common
COPY services services
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable \
        --package lanes-auth --package lanes-gateway --package lanes-processor

FROM ${PYTHON_IMAGE} AS runtime
ARG LANES_VERSION=0.1.0
LABEL org.opencontainers.image.title="lanes" \
      org.opencontainers.image.description="Lanes services: auth, gateway, processor (choose with the command)" \
      org.opencontainers.image.version="${LANES_VERSION}"

# A fixed numeric uid/gid: Kubernetes' runAsNonRoot can only verify a numeric
# user, and the manifests set the same ids (runAsUser/fsGroup 10001).
RUN groupadd --system --gid 10001 lanes \
    && useradd --system --uid 10001 --gid lanes --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin lanes

COPY --from=build /opt/lanes/venv /opt/lanes/venv
ENV PATH="/opt/lanes/venv/bin:${PATH}" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /opt/lanes
USER 10001:10001

# gateway, auth, processor (probes and metrics).
EXPOSE 8000 8001 8002
# The processor drains in-flight work and commits its offsets on SIGTERM.
STOPSIGNAL SIGTERM
CMD ["python", "-m", "lanes_gateway"]
