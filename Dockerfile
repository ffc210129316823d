# syntax=docker/dockerfile:1
# The serving image: the promoted model behind the HTTP service (`churn-model serve`).
#
# `just image` builds it (after `just package`, which gathers the champion's model.skops + card.json
# into dist/model) with docker or podman; `just image-smoke` runs it and proves it serves.
# Two stages, as uv's Docker guide recommends: the builder installs the locked runtime dependencies
# in a cached layer of their own, then the project itself, non-editable; the final stage holds only
# the virtual environment and the model, runs as a non-root user and has neither uv nor a compiler.
# Both stages use the same Python image, so the venv's interpreter link holds.
#
# Base images: pinned by digest in the two FROM lines below (where Dependabot finds and updates
# them). The build arguments PYTHON_IMAGE and UV_IMAGE name the stage each build starts from; by
# default those pinned stages. Point them elsewhere only to build on stand-ins of the same images (a
# registry mirror, or .ci/stand-in-bases on machines that cannot reach a registry); an unused
# pinned stage is skipped, never pulled.
ARG PYTHON_IMAGE=python-pinned
ARG UV_IMAGE=uv-pinned

FROM ghcr.io/astral-sh/uv:0.13.0@sha256:cdc6093146eb3ff6a40107b38f008b789e050e77ad87865e381d9917da55a168 AS uv-pinned
FROM python:3.12.12-slim@sha256:f3fa41d74a768c2fce8016b98c191ae8c1bacd8f1152870a3f9f87d350920b7c AS python-pinned

FROM ${UV_IMAGE} AS uv

FROM ${PYTHON_IMAGE} AS builder
COPY --from=uv /uv /bin/uv
# Bytecode compiled at build time (fast start); copy, not hardlink, out of the cache mount; use the
# image's Python, never a downloaded one.
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never
WORKDIR /app
# Dependencies only: this layer is rebuilt when uv.lock changes, not when the code does.
# --no-default-groups: runtime dependencies only (no dev tools, no `train` extra). Mount targets are
# absolute (buildah refuses relative ones; under BuildKit they are the same files).
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=bind,source=uv.lock,target=/app/uv.lock \
    --mount=type=bind,source=pyproject.toml,target=/app/pyproject.toml \
    --mount=type=bind,source=.python-version,target=/app/.python-version \
    uv sync --locked --no-default-groups --no-install-project --no-editable
COPY pyproject.toml uv.lock .python-version README.md LICENSE ./
COPY src ./src
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --locked --no-default-groups --no-editable
# The test suites numpy, pandas, scipy, scikit-learn, skops and joblib ship inside their packages
# (about 100 MB with their bytecode, a quarter of the venv) are never imported by the service.
RUN find /app/.venv -depth -type d \( -name tests -o -name test \) -path '*/site-packages/*' \
    -exec rm -rf {} +

FROM ${PYTHON_IMAGE}
# Static labels; the publish workflow adds source, revision, version and created at build time.
LABEL org.opencontainers.image.title="churn-model" \
      org.opencontainers.image.description="HTTP service over the gated, promoted model." \
      org.opencontainers.image.licenses="MIT"
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --no-create-home --shell /usr/sbin/nologin app
WORKDIR /app
# Owned by root and read-only to the service user: the running service cannot alter its code or model.
COPY --from=builder /app/.venv /app/.venv
COPY dist/model /app/model
ENV PATH="/app/.venv/bin:${PATH}" \
    PYTHONUNBUFFERED=1 \
    MODEL_DIR=/app/model \
    HOST=0.0.0.0 \
    PORT=8000
# Numeric, so an orchestrator can verify runAsNonRoot without reading /etc/passwd.
USER 10001:10001
EXPOSE 8000
# Readiness, with the image's own Python (no curl in a slim image).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ['PORT'] + '/health/ready', timeout=4)"]
ENTRYPOINT ["churn-model", "serve"]
