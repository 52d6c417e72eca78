# ICCS coding service: `docker build -t iccs .` then see the README ("Docker").
# Two stages: the build stage installs the pinned dependencies (CPU-only torch) into a virtual
# environment; the runtime stage copies it, the code, the taxonomy and the model, and runs as a
# non-root user.

ARG PYTHON_VERSION=3.11

FROM python:${PYTHON_VERSION}-slim AS build
# CPU-only PyTorch: the lock pins torch==2.13.0+cpu, which lives on PyTorch's CPU wheel index.
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# Dependencies first, so code changes do not reinstall them. Only the runtime lock: the
# development tools (requirements-dev.lock: pytest, mypy, ruff, selenium) stay out of the image.
COPY requirements.lock ./
RUN pip install --extra-index-url "$TORCH_INDEX_URL" -r requirements.lock
# Code, taxonomy, corpus and whatever models/ holds (see .dockerignore for what stays out).
COPY . .
RUN pip install --no-deps .
# The default model is built in: the champion under models/ if the context has one, otherwise
# it is trained here from the corpus (a few minutes), exactly as `make model` does.
# (Run from the source folder so training finds its configs and data next to the code.)
RUN mkdir -p models && MLFLOW_TRACKING_URI=sqlite:////tmp/mlflow.db python -m iccs.cli model ensure

FROM python:${PYTHON_VERSION}-slim AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    ICCS_ENV=production \
    ICCS_HOST=0.0.0.0 \
    ICCS_PORT=8000 \
    ICCS_WORKERS=1 \
    ICCS_TAXONOMY_DIR=/app/datasets/iccs \
    ICCS_CORPUS=/app/datasets/corpus/iccs_corpus.csv \
    ICCS_MODELS_DIR=/app/models \
    ICCS_DATA_DIR=/var/lib/iccs \
    PROMETHEUS_MULTIPROC_DIR=/tmp/iccs-metrics \
    OMP_NUM_THREADS=1
RUN groupadd --system --gid 10001 iccs \
    && useradd --system --uid 10001 --gid iccs --home-dir /app --shell /usr/sbin/nologin iccs \
    && mkdir -p /var/lib/iccs /app \
    && chown iccs:iccs /var/lib/iccs
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY --from=build /src/datasets/iccs ./datasets/iccs
# The taxonomy search ranks with the labelled corpus's texts per code too (4.6 MB).
COPY --from=build /src/datasets/corpus/iccs_corpus.csv ./datasets/corpus/iccs_corpus.csv
# The champion pointer and bundles. To serve another model, mount a models folder over it:
# -v "$PWD/models:/app/models:ro" (then POST /v1/models/reload or restart).
COPY --from=build /src/models ./models
USER iccs
# SQLite database, development key and reload marker; mount a volume to keep them.
VOLUME ["/var/lib/iccs"]
EXPOSE 8000
# HEALTHCHECK is part of the Docker image format only: podman and buildah drop it from OCI images
# unless they build with `--format docker` (see the README, "Docker").
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; url = f\"http://127.0.0.1:{os.environ.get('ICCS_PORT', '8000')}/readyz\"; sys.exit(0 if urllib.request.urlopen(url, timeout=4).status == 200 else 1)"]
ENTRYPOINT ["iccs"]
CMD ["serve"]
