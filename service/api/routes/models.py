from __future__ import annotations

from fastapi import APIRouter, Request

from service.api.deps import AdminDep, ClassifierDep, ModelHolderDep, SubmitterDep
from service.api.errors import ERROR_RESPONSES, APIError
from service.api.schemas.models import ModelInfo, ReloadResult
from service.model_holder import ReloadSignal, ServedModel

router = APIRouter(prefix="/v1", tags=["models"], responses=ERROR_RESPONSES)


def _info(model: ServedModel) -> ModelInfo:
    meta = model.metadata
    return ModelInfo(
        model_version=model.version,
        name=str(meta.get("name", "")),
        version=str(meta.get("version", "")),
        data_version=meta.get("data_version"),
        taxonomy_version=model.taxonomy_version,
        created=meta.get("created"),
        loaded_at=model.loaded_at,
        review_threshold=model.classifier.operating.review_threshold,
        metrics=dict(meta.get("metrics") or {}),
    )


@router.get("/models/current", response_model=ModelInfo)
def current_model(model: ClassifierDep, _caller: SubmitterDep) -> ModelInfo:
    """The model answering requests: version, training data version, model-card metrics."""
    return _info(model)


@router.post("/models/reload", response_model=ReloadResult)
def reload_model(request: Request, holder: ModelHolderDep, _caller: AdminDep) -> ReloadResult:
    """Load the registry's champion and swap it in; requests in flight finish on the old one.

    Other worker processes sharing the data folder follow within ICCS_RELOAD_POLL_SECONDS.
    """
    previous = holder.current
    try:
        model = holder.reload()
    except Exception:
        raise APIError(
            409,
            "could not load the champion; still serving the previous model",
            code="reload_failed",
            details={
                "reason": holder.last_error,
                "serving": previous.version if previous else None,
            },
        ) from None
    signal: ReloadSignal = request.app.state.reload_signal
    signal.announce(model.bundle)
    return ReloadResult(
        previous_version=previous.version if previous else None,
        model_version=model.version,
        changed=previous is None or previous.bundle != model.bundle,
    )
