# The code location as a container (gRPC server for a Dagster deployment).
FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 SOPHIA_DATA_DIR=/data
WORKDIR /opt/sophia
RUN pip install --no-cache-dir "torch==2.13.0" --index-url https://download.pytorch.org/whl/cpu
COPY pyproject.toml README.md ./
COPY sophia_pipeline ./sophia_pipeline
COPY workspace.yaml dagster.yaml ./
# Editable: load_from_defs_folder finds pyproject.toml by walking up from the package.
RUN pip install --no-cache-dir -e .
EXPOSE 4000
CMD ["dagster", "code-server", "start", "-h", "0.0.0.0", "-p", "4000", "-m", "sophia_pipeline.definitions"]
