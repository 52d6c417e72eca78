"""MLflow logging and registry. Imported only by training: `import mlflow` costs ~1.3 s."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from iccs.paths import PROJECT_ROOT

logger = logging.getLogger(__name__)
CHAMPION_ALIAS = "champion"


@dataclass(frozen=True)
class TrackingResult:
    run_id: str
    registered_version: str | None


def tracking_uri() -> str:
    """MLFLOW_TRACKING_URI wins; otherwise a local SQLite store in the project folder."""
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{PROJECT_ROOT / 'mlflow.db'}"


def _loggable(value: Any) -> Any:
    return value if isinstance(value, int | float | str | bool) or value is None else str(value)


def track_run(
    *,
    experiment: str,
    model_name: str,
    params: dict[str, Any],
    metrics: dict[str, float],
    bundle: Path,
    plots: list[Path],
    promote: bool,
    register: bool = True,
) -> TrackingResult:
    import mlflow
    from mlflow import MlflowClient

    mlflow.set_tracking_uri(tracking_uri())
    if mlflow.get_experiment_by_name(experiment) is None:
        artifacts = os.environ.get("ICCS_MLFLOW_ARTIFACTS", str(PROJECT_ROOT / "mlartifacts"))
        mlflow.create_experiment(experiment, artifact_location=Path(artifacts).as_uri())
    mlflow.set_experiment(experiment)
    with mlflow.start_run(run_name=f"{model_name}-{bundle.name}") as run:
        mlflow.log_params({k: _loggable(v) for k, v in params.items()})
        mlflow.log_metrics(metrics)
        mlflow.set_tags({"bundle_version": bundle.name, "bundle_path": str(bundle)})
        mlflow.log_artifacts(str(bundle), artifact_path="bundle")
        for plot in plots:
            mlflow.log_artifact(str(plot), artifact_path="plots")
        run_id = run.info.run_id
    version: str | None = None
    if register:
        client = MlflowClient()
        try:
            client.get_registered_model(model_name)
        except Exception:
            client.create_registered_model(model_name)
        source = f"{mlflow.get_run(run_id).info.artifact_uri}/bundle"
        registered = client.create_model_version(
            model_name, source=source, run_id=run_id, tags={"bundle_version": bundle.name}
        )
        version = str(registered.version)
        if promote:
            client.set_registered_model_alias(model_name, CHAMPION_ALIAS, version)
        logger.info(
            "registered %s version %s%s", model_name, version, " as champion" if promote else ""
        )
    return TrackingResult(run_id=run_id, registered_version=version)
