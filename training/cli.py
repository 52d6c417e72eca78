"""Training commands of the `iccs` CLI: train, evaluate, model ensure, data validate.

Heavy imports (scikit-learn, MLflow) happen inside the commands so `iccs --help` stays fast.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated, Any

import typer

from iccs.cli import console, fail
from iccs.paths import corpus_path

logger = logging.getLogger(__name__)
model_app = typer.Typer(help="Manage model bundles.", no_args_is_help=True)
data_app = typer.Typer(help="Check the labelled corpus.", no_args_is_help=True)
tags_app = typer.Typer(
    help="The tag model (cyber, attempt, weapon, context).", no_args_is_help=True
)


def train(
    config: Annotated[
        Path | None, typer.Option(help="TOML training config.", exists=True, dir_okay=False)
    ] = None,
    include_reviews: Annotated[
        Path | None,
        typer.Option(
            help="Analysts' decisions to add to training: a GET /v1/reviews/export file "
            "(never enters the test split; the model card shows before/after).",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """Train, evaluate on dev and test, write a bundle, log to MLflow, promote if not worse."""
    from training.pipeline import TrainingConfig
    from training.pipeline import train as run_training

    try:
        settings = TrainingConfig.from_file(config)
    except (ValueError, TypeError) as exc:
        raise fail(str(exc)) from None
    if include_reviews is not None:
        settings.review_exports.append(include_reviews)
    if not settings.corpus.is_file():
        raise fail(f"corpus not found: {settings.corpus}")
    from iccs.tags import TagError
    from training.reviews_import import ReviewExportError

    try:
        result = run_training(settings)
    except (ReviewExportError, TagError) as exc:
        raise fail(str(exc)) from None
    test = result.metrics["test"]["overall"]
    console.print(
        f"bundle {result.bundle}\n"
        f"test exact@1 {test['exact_at_1']:.3f}  section {test['section_accuracy']:.3f}  "
        f"ECE {test['ece']:.3f}  autocoding@97% {test['autocoding']['0.97']['rate']:.3f}\n"
        + ("promoted to champion" if result.promoted else "champion kept (worse on dev)"),
        highlight=False,
    )
    if result.tracking is not None:
        from training.tracking import tracking_uri

        console.print(
            f"MLflow run {result.tracking.run_id} (experiment {settings.experiment!r}); "
            f"to browse runs, metrics and plots:\n  mlflow ui --backend-store-uri {tracking_uri()}",
            highlight=False,
            soft_wrap=True,
        )


def evaluate(
    model: Annotated[Path | None, typer.Option(help="Bundle folder (default: champion).")] = None,
    data: Annotated[
        Path | None,
        typer.Option(help="Labelled CSV (corpus format); default: the corpus's test split."),
    ] = None,
    output: Annotated[Path, typer.Option(help="Folder for the report and plots.")] = Path(
        "reports/evaluation"
    ),
    lojo: Annotated[
        bool,
        typer.Option(
            help="Re-run leave-one-jurisdiction-out with this model's config on the corpus "
            "(one model per held-out jurisdiction: minutes). Default: the bundle's stored LOJO."
        ),
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the figures as one JSON object instead.")
    ] = False,
) -> None:
    """Write evaluation.json, reliability.png and coverage_precision.png for a model, with its
    leave-one-jurisdiction-out figures."""
    from iccs.bundle import BundleError
    from iccs.serving import load_default_model
    from training.corpus import load_corpus
    from training.evaluate import evaluate_frame, write_report
    from training.plots import write_plots
    from training.report_table import evaluation_summary, evaluation_tables

    try:
        classifier, metadata = load_default_model(model)
    except BundleError as exc:
        raise fail(str(exc)) from None
    source = data or corpus_path()
    try:
        frame = load_corpus(source)
    except (OSError, ValueError) as exc:
        raise fail(f"cannot read {source}: {exc}") from None
    if data is None:
        frame = frame[frame["split"] == "test"]
    stored = metadata.get("thresholds") or metadata.get("dev_thresholds", {})
    thresholds = {float(k): v for k, v in stored.items()} or None
    report, records = evaluate_frame(classifier, frame, thresholds)
    report["model"] = {"name": metadata.get("name"), "version": metadata.get("version")}
    report["lojo"] = _lojo_figures(classifier, model, lojo)
    path = write_report(report, output)
    write_plots(records, output, source.name, classifier.operating.review_threshold)
    if as_json:
        print(json.dumps(evaluation_summary(report), ensure_ascii=False))
        return
    for table in evaluation_tables(report, f"{source.name}{'' if data else ' (test split)'}"):
        console.print(table)
    console.print(f"report: {path}", highlight=False)


def _lojo_figures(classifier: Any, bundle: Path | None, rerun: bool) -> dict[str, Any] | None:
    """The bundle's LOJO report, or a fresh one trained with its config on the corpus."""

    from iccs.bundle import champion_path
    from training.corpus import load_corpus
    from training.lojo import held_out_scores, nested_report
    from training.pipeline import TrainingConfig, row_weights

    if rerun:
        corpus = load_corpus(corpus_path())
        pool = corpus[corpus["split"] != "test"].reset_index(drop=True)
        weights = row_weights(pool, TrainingConfig().taxonomy_weight)
        held = held_out_scores(pool, classifier.config, classifier.classes_, weights)
        report: dict[str, Any] = nested_report(classifier, held)
        return report
    directory = bundle or champion_path()
    stored = None if directory is None else directory / "evaluation.json"
    if stored is None or not stored.is_file():
        return None
    lojo: dict[str, Any] | None = json.loads(stored.read_text()).get("lojo")
    return lojo


@model_app.command("ensure")
def model_ensure() -> None:
    """Train the default model only when no champion bundle exists (used by `make serve`)."""
    from iccs.bundle import champion_path

    current = champion_path()
    if current is not None and (current / "config.json").is_file():
        console.print(f"champion model: {current}", highlight=False)
        return
    console.print("no champion model yet: training the default model (a few minutes)")
    train(config=None, include_reviews=None)


@data_app.command("validate")
def data_validate(
    corpus: Annotated[Path | None, typer.Option(help="Corpus CSV.")] = None,
) -> None:
    """Check the corpus and its tag labels; print the counts as one JSON object on the last line."""
    from training.corpus_tags import TAGS_FILE
    from training.validate import validate_corpus

    path = corpus or corpus_path()
    if not path.is_file():
        raise fail(f"corpus not found: {path}")
    report = validate_corpus(
        path,
        fingerprint_file=path.parent / "test_split.sha256",
        tags_file=path.parent / TAGS_FILE,
    )
    for failure in report.failures:
        console.print(f"FAIL {failure}", highlight=False)
    if report.ok:
        console.print("corpus OK", highlight=False)
    print(json.dumps(report.counts, ensure_ascii=False))
    if not report.ok:
        raise typer.Exit(1)


def _figure(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


@tags_app.command("train")
def tags_train(
    model: Annotated[Path, typer.Option(help="Bundle folder to add the tag model to.")],
    tags: Annotated[
        Path | None,
        typer.Option(help="Tag labels CSV (default: tags.csv beside the corpus).", dir_okay=False),
    ] = None,
    corpus: Annotated[Path | None, typer.Option(help="Corpus CSV (default: the corpus).")] = None,
    lojo: Annotated[
        bool, typer.Option(help="Also evaluate by leave-one-jurisdiction-out (minutes).")
    ] = True,
    c: Annotated[float, typer.Option(min=1e-4, help="Inverse regularisation strength.")] = 4.0,
    class_weight: Annotated[
        str,
        typer.Option(
            help="How rare values (cyber-related, weapons) weigh: sqrt (1/sqrt(frequency)), "
            "balanced (1/frequency) or none."
        ),
    ] = "sqrt",
    embedder: Annotated[
        str,
        typer.Option(
            help="Sentence vectors to add to the character n-grams (e.g. use-multilingual, "
            "which the classifier computes for every text anyway); empty: n-grams only."
        ),
    ] = "",
    word_ngrams: Annotated[
        int, typer.Option(min=0, help="Word 1..N-grams beside the character n-grams (0: none).")
    ] = 2,
    embedding_cache: Annotated[
        Path | None,
        typer.Option(help="Folder keeping the embedder's vectors across runs (as `iccs train`)."),
    ] = None,
    cyber_operating: Annotated[
        str,
        typer.Option(
            help="Cyber-related operating point: min_pr (threshold maximising min(precision, "
            "recall) on LOJO held-out rows, else on the calibration rows) or '' (most "
            "probable value)."
        ),
    ] = "min_pr",
) -> None:
    """Add or refresh a bundle's tag model without retraining its codes (minutes, not an hour)."""
    from iccs.bundle import BundleError
    from iccs.tags import TagConfig, TagError
    from training.tags import refresh_bundle_tags, tags_path_beside

    labels = tags or tags_path_beside(corpus or corpus_path())
    if not labels.is_file():
        raise fail(f"tag labels not found: {labels}")
    try:
        config = TagConfig(
            c=c,
            class_weight=class_weight,
            embedder=embedder,
            word_ngram_max=word_ngrams,
            cyber_operating=cyber_operating,
        )
        metrics = refresh_bundle_tags(model, labels, corpus, config, lojo, embedding_cache)
    except (BundleError, TagError, OSError, ValueError) as exc:
        raise fail(str(exc)) from None
    for tag, by_language in metrics["test"].items():
        overall = by_language["all"]
        related = overall.get("cyber_related")
        extra = (
            f"  cyber-related precision {_figure(related['precision'])} "
            f"recall {_figure(related['recall'])}"
            if related
            else ""
        )
        console.print(
            f"{tag}: test accuracy {_figure(overall['accuracy'])} "
            f"macro-F1 {_figure(overall['macro_f1'])}" + extra,
            highlight=False,
        )
    console.print(
        f"tag model written to {model / 'tags'} ({metrics['seconds']} s)", highlight=False
    )


def register(app: typer.Typer) -> None:
    app.command("train")(train)
    app.command("evaluate")(evaluate)
    app.add_typer(model_app, name="model")
    app.add_typer(data_app, name="data")
    app.add_typer(tags_app, name="tags")
