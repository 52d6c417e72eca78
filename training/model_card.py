"""The generated model card: what the model is, what it was trained on, how well it does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from iccs.classifier import ICCSClassifier
from training.plots import plots_section
from training.tags_card import replace_card_section


def _pct(value: object) -> str:
    if not isinstance(value, int | float) or value != value:  # NaN: nothing to measure
        return "n/a"
    return f"{100 * float(value):.1f}%"


def _summary_row(name: str, s: dict[str, Any]) -> str:
    if not s.get("n"):
        return f"| {name} | 0 | | | | | | |"
    auto = s["autocoding"]["0.97"]
    return (
        f"| {name} | {s['n']} | {_pct(s['exact_at_1'])} | {_pct(s['exact_at_3'])} | "
        f"{_pct(s['section_accuracy'])} | {_pct(s['macro_f1'])} | {float(s['ece']):.3f} | "
        f"{_pct(auto['rate'])} at {_pct(auto['precision'])} |"
    )


def _lojo_section(lojo: dict[str, Any] | None) -> str:
    if not lojo:
        return "No leave-one-jurisdiction-out figures: the corpus has no jurisdiction folds.\n"
    header = (
        "| held out | n | exact@1 | exact@3 | division | section | ECE | "
        "auto-coded (precision) at the nested 97% threshold |\n|---|---|---|---|---|---|---|---|"
    )

    def row(name: str, s: dict[str, Any]) -> str:
        auto = s["autocoding"]["0.97"]
        return (
            f"| {name} | {s['n']} | {_pct(s['exact_at_1'])} | {_pct(s['exact_at_3'])} | "
            f"{_pct(s['division_accuracy'])} | {_pct(s['section_accuracy'])} | "
            f"{float(s['ece']):.3f} | {_pct(auto['rate'])} ({_pct(auto['precision'])}) |"
        )

    pooled = [row(f"**pooled, {k}**", v) for k, v in lojo["pooled"].items()]
    units = [row(f"{k} ({v['language']})", v) for k, v in lojo["by_unit"].items()]
    policies = lojo.get("policies", {})
    policy_text = "; ".join(
        f"`{name}`: exact@1 {_pct(p['exact_at_1'])}, first suggestion in the right section "
        f"{_pct(p['section_accuracy'])}"
        for name, p in policies.items()
    )
    return "\n".join(
        [
            header,
            *pooled,
            *units,
            "",
            "Each row is a model trained without that jurisdiction (its real texts and the "
            "synthetic texts written in its style); Korea, the only Korean-language jurisdiction, "
            "is held out one source at a time. Calibration and the review threshold used for "
            "each row were fitted on the other rows only (nested), so these figures are what a "
            "new country can expect.",
            "",
            f"First-suggestion policies on the same held-out texts: {policy_text}.",
        ]
    )


def write_model_card(
    bundle: Path,
    model: ICCSClassifier,
    metadata: dict[str, Any],
    metrics: dict[str, Any],
    learning_loop: str | None = None,
) -> Path:
    """`learning_loop`: the before/after section when analysts' decisions were added."""
    cfg = model.config
    test = metrics["test"]
    header = (
        "| records | n | exact@1 | exact@3 | section | macro-F1 | ECE | "
        "auto-coded (precision) at the 97% threshold |\n"
        "|---|---|---|---|---|---|---|---|"
    )
    rows = [_summary_row("test, all", test["overall"])]
    rows += [_summary_row(f"test, {k}", v) for k, v in test["by"].items()]
    if "dev" in metrics:
        rows.append(_summary_row("dev, all", metrics["dev"]["overall"]))
    levels = " / ".join(
        f"{lvl} {_pct(test['overall'][f'{lvl}_accuracy'])}"
        for lvl in ("section", "division", "group", "class")
    )
    char_ngrams = f"{cfg.char_ngram_min}-{cfg.char_ngram_max}"
    words = f"word 1-{cfg.word_ngram_max}-grams and " if cfg.word_ngram_max else ""
    lexical = "linear SVM" if cfg.lexical_model == "svm" else "logistic regression"
    experts = [e.name for e in model.experts]
    blend = "; ".join(
        f"{language}: "
        + ", ".join(f"{e} {w:.2f}" for e, w in zip(experts, weights, strict=True))
        + f", temperature {t:.3f}"
        for language, (weights, t) in model.blend.by_language.items()
    )
    semantic = ", ".join(f"`{e}`" for e in cfg.embedders) or "none"
    fitted_on = (
        "leave-one-jurisdiction-out held-out predictions"
        if model.operating.fitted_on == "lojo"
        else "the dev split"
    )
    speed = metadata.get("speed")
    unit_seconds = (metrics.get("lojo") or {}).get("seconds_per_unit") or {}
    lojo_time = (
        f"{sum(unit_seconds.values()):.0f} s for {len(unit_seconds)} units"
        if unit_seconds
        else "read from the held-out score cache of an earlier run"
    )
    speed_section = f"\n## Speed\n{speed}\n" if speed else ""
    loop_section = f"\n{learning_loop}" if learning_loop else ""
    text = f"""# Model card: {metadata["name"]} {metadata["version"]}

ICCS v1.0 coding of free-text offence descriptions (charge titles, statute titles and articles,
police categories, short incident narratives) in English, Spanish and Korean. Generated by
`iccs train`. The headline figures are **leave-one-jurisdiction-out** (LOJO): how the model does
on a country whose texts it never saw. The frozen **test split** figures follow.

## Model
- Every expert sees the normalised text (NFKC, lower case, accents and spacing folded), so case,
  accent and spacing variants of a text get the same answer.
- Lexical expert: TF-IDF {words}character {char_ngrams}-grams, {lexical} (C={cfg.lexical_c}).
- Semantic experts: {semantic} sentence embeddings, each with a multinomial logistic regression
  (C={cfg.semantic_c}).
- Taxonomy knowledge: ICCS titles, inclusions and descriptions (English, Spanish, and the
  project's Korean translation), index terms and legal-term lists are training rows.
- Blend per language, fitted on {fitted_on}: {blend}.
- First suggestion: policy `{cfg.decision}` (the most probable code, at the level the training
  labels give texts like it). Its confidence is the probability that the gold code is that code
  or lies below it. A broader code that clears {cfg.backoff_threshold} is offered as a fallback
  for the reviewer, never in place of the first suggestion.
- Review: a record needs review when its first confidence is below
  {model.operating.review_threshold:.3f} (the 97%-precision threshold on {fitted_on}), or when
  it is `NONE`.
- Classes: {len(model.classes_)}; seed {cfg.seed}; fitted in {metadata["training_seconds"]} s
  on {metadata["train_rows"]} rows (LOJO experts: {lojo_time}).

## Data
- Corpus version `{metadata["data_version"]}`; taxonomy `{metadata["taxonomy_version"]}`.
- See `datasets/README.md` for sources, labelling, agreement and known weaknesses.

## Leave-one-jurisdiction-out
{_lojo_section(metrics.get("lojo"))}

## Frozen test split
{header}
{chr(10).join(rows)}

Accuracy by level on test (most probable node at each level): {levels}.

Definitions: exact@k = gold code among the first k suggestions; ECE = expected calibration
error of the first suggestion's confidence against being right (the gold code is that code or
lies below it), 15 bins; the autocoding threshold is chosen on {fitted_on} for 97% precision
and applied unchanged to test.

{plots_section(bundle)}
{speed_section}{loop_section}
## Intended use
Suggesting ICCS codes to statistical coders and auto-coding the records whose confidence clears
the review threshold, with a quality-control sample of auto-coded records checked by people.

## Limits
- Real texts come from 14 jurisdictions; a country with another legal tradition or language
  will do worse than the LOJO figures for similar countries. Korean real texts are court charge
  names and statute headings only, no narratives.
- Labels are a silver standard (AI coders under `datasets/LABELLING.md`, double-coded samples).
- Rare ICCS codes are learnt mostly from their definitions; expect lower accuracy there.
- Confidence is calibrated on held-out jurisdictions; on a very different mix, recalibrate.
"""
    path = bundle / "MODEL_CARD.md"
    path.write_text(text)
    replace_card_section(path, metrics.get("tags"))
    return path
