"""Session fixtures: a tiny model trained here, from the taxonomy and a few texts, in seconds."""

from __future__ import annotations

from pathlib import Path

import pytest

from iccs.bundle import save_bundle
from iccs.classifier import ClassifierConfig, ICCSClassifier
from iccs.tags import TagConfig, TagPredictor
from iccs.taxonomy import Taxonomy, load_taxonomy

# A handful of texts per family, enough for a model that behaves sensibly on the easy cases.
TINY_TEXTS: list[tuple[str, str]] = [
    ("suspect broke the shed lock and took a bicycle", "050229"),
    ("theft of a pedal cycle from outside the station", "050229"),
    ("stole a handbag from the victim's shoulder without force", "050221"),
    ("pickpocket took wallet from jacket on the bus", "050221"),
    ("shoplifting of razor blades from supermarket", "050231"),
    ("stole goods from a shop display", "050231"),
    ("forced the rear door of the dwelling and removed a laptop", "050121"),
    ("burglary of a house while occupants were away", "050121"),
    ("broke into the warehouse at night and stole tools", "05011"),
    ("punched the victim once causing no injury", "020112"),
    ("common assault by beating", "020112"),
    ("stabbed the victim in the arm with a knife causing serious injury", "020111"),
    ("wounding with intent to cause grievous bodily harm", "020111"),
    ("threatened to kill his neighbour", "020121"),
    ("possession of cannabis for personal use", "060111"),
    ("possession of a controlled drug of class A", "060111"),
    ("possess heroin with intent to supply", "060121"),
    ("supplying cocaine to another", "060121"),
    ("driving a motor vehicle with excess alcohol", "020721"),
    ("drink driving over the prescribed limit", "020721"),
    ("exceeding the 30 mph speed limit", "0907"),
    ("using a vehicle without insurance", "0907"),
    ("phishing email obtained victim's online banking details and money was transferred", "07011"),
    ("fraud by false representation with a stolen credit card", "07011"),
    ("unauthorised access to computer material by hacking an email account", "09031"),
    ("ransomware encrypted the company's files", "090322"),
    ("robbery of a mobile phone at knifepoint in the street", "040111"),
    ("pushed the victim to the ground and took her bag", "040111"),
    ("criminal damage to a parked car by scratching the paintwork", "05042"),
    ("graffiti sprayed on the school wall", "05041"),
    ("lost wallet reported, no crime", "NONE"),
    ("missing person report for elderly man", "NONE"),
    ("found property handed in at the front desk", "NONE"),
    ("concern for welfare check, no offences disclosed", "NONE"),
    ("Hurto de celular en la vía pública sin violencia", "050221"),
    ("Robo con violencia de un teléfono celular", "040111"),
    ("Lesiones leves en riña", "020112"),
    ("Conducir en estado de ebriedad", "020721"),
    ("휴대전화 절도", "050221"),
    ("음주운전", "020721"),
]
# Tag labels (cyber, attempt, weapon, context) of TINY_TEXTS, in the same order; "?" is unknown.
_TINY_TAG_ROWS = """
N C ? ?|N C ? ?|N C ? ?|N C ? ?|N C ? ?|N C ? ?|N C ? ?|N ? ? ?|N C ? ?|N C H ?
N ? H ?|N C K ?|N ? ? ?|? ? ? O|N ? ? ?|N ? ? ?|N ? ? ?|N ? ? ?|N ? ? ?|N ? ? ?
N ? ? ?|N ? ? ?|E C ? ?|? ? ? ?|D C ? ?|D C ? O|N C K O|N C H ?|N C ? ?|N C ? O
? ? ? ?|? ? ? ?|? ? ? ?|? ? ? ?|N C ? ?|N C ? ?|N ? H ?|N ? ? ?|N ? ? ?|N ? ? ?
"""
_TAG_CODES = {
    "cyber": {"N": "not_cyber", "E": "cyber_enabled", "D": "cyber_dependent", "?": "unknown"},
    "attempt": {"C": "completed", "A": "attempted", "?": "unknown"},
    "weapon": {"K": "knife_or_sharp", "H": "no_weapon", "F": "firearm", "?": "unknown"},
    "context": {"F": "intimate_partner_or_family", "O": "other", "?": "unknown"},
}
TINY_TAGS: list[dict[str, str]] = [
    {
        tag: codes[letter]
        for (tag, codes), letter in zip(_TAG_CODES.items(), row.split(), strict=True)
    }
    for row in _TINY_TAG_ROWS.replace("\n", "|").strip("|").split("|")
]
assert len(TINY_TAGS) == len(TINY_TEXTS)
# A few more labelled texts so that every tag value is seen at least twice.
TINY_TAG_EXTRA: list[tuple[str, dict[str, str]]] = [
    ("attempted robbery of a shop, nothing taken", {"attempt": "attempted"}),
    ("attempt to steal a car from the driveway", {"attempt": "attempted"}),
    ("shot the victim with a pistol", {"weapon": "firearm", "attempt": "completed"}),
    ("possession of a firearm without a licence", {"weapon": "firearm"}),
    ("assaulted his wife at the family home", {"context": "intimate_partner_or_family"}),
    ("domestic abuse against his former partner", {"context": "intimate_partner_or_family"}),
    ("online shopping fraud through a fake website", {"cyber": "cyber_enabled"}),
    ("malware infected the hospital's computer systems", {"cyber": "cyber_dependent"}),
]


def tiny_tag_rows() -> tuple[list[str], dict[str, list[str]]]:
    """Texts and their tag labels ('unknown' where an extra row does not say)."""
    texts = [t for t, _ in TINY_TEXTS] + [t for t, _ in TINY_TAG_EXTRA]
    labelled = TINY_TAGS + [
        {tag: tags.get(tag, "unknown") for tag in _TAG_CODES} for _, tags in TINY_TAG_EXTRA
    ]
    return texts, {tag: [row[tag] for row in labelled] for tag in _TAG_CODES}


def fit_tiny_tagger() -> TagPredictor:
    texts, labels = tiny_tag_rows()
    return TagPredictor(TagConfig(max_features=4000, calibration_share=0.3)).fit(texts, labels)


FAMILIES = ("0201", "0401", "0501", "0502", "0504", "0601", "0701", "0903", "0907", "02072")


def tiny_training_rows(taxonomy: Taxonomy) -> tuple[list[str], list[str]]:
    texts, codes = [t for t, _ in TINY_TEXTS], [c for _, c in TINY_TEXTS]
    for category in taxonomy:
        if category.code.startswith(FAMILIES):
            for text in (category.title_en, category.title_es, *category.inclusions_en):
                texts.append(text)
                codes.append(category.code)
    return texts, codes


def write_tiny_corpus(path: Path, taxonomy: Taxonomy) -> Path:
    """The tiny rows as a corpus CSV: taxonomy rows train; the texts spread over the splits."""
    import pandas as pd

    texts, codes = tiny_training_rows(taxonomy)
    rows = []
    for i, (text, code) in enumerate(zip(texts, codes, strict=True)):
        is_tiny = i < len(TINY_TEXTS)
        split = "train" if not is_tiny or i % 3 == 0 else ("dev" if i % 3 == 1 else "test")
        rows.append(
            {
                "id": f"t{i}",
                "text": text,
                "language": "en",
                "iccs_code": code,
                "origin": "synthetic" if is_tiny else "taxonomy",
                "source": "test",
                "labeller": "test",
                "split": split,
            }
        )
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


@pytest.fixture(scope="session")
def taxonomy() -> Taxonomy:
    return load_taxonomy()


@pytest.fixture(scope="session")
def tiny_model(taxonomy: Taxonomy) -> ICCSClassifier:
    texts, codes = tiny_training_rows(taxonomy)
    config = ClassifierConfig(
        embedders=[],
        knn_embedder=None,
        max_word_features=5000,
        max_char_features=8000,
        max_iter=200,
    )
    dev_texts, dev_codes = [t for t, _ in TINY_TEXTS[::3]], [c for _, c in TINY_TEXTS[::3]]
    model = ICCSClassifier(config).fit(texts, codes, dev_texts=dev_texts, dev_codes=dev_codes)
    model.tagger = fit_tiny_tagger()
    return model


@pytest.fixture(scope="session")
def tiny_bundle(tiny_model: ICCSClassifier, tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("models") / "iccs-classifier" / "tiny-1"
    save_bundle(
        tiny_model,
        directory,
        {
            "name": "iccs-classifier",
            "version": "tiny-1",
            "data_version": "test",
            "taxonomy_version": "ICCS-1.0-2015",
        },
    )
    (directory.parent / "CHAMPION").write_text("tiny-1\n")
    return directory


def write_tiny_tags(corpus: Path) -> Path:
    """tags.csv beside a tiny corpus: the tiny texts' labels; taxonomy rows are unlabelled."""
    import pandas as pd

    frame = pd.read_csv(corpus, dtype=str, keep_default_na=False)
    by_text = dict(zip(*tiny_tag_rows_by_text(), strict=True))
    rows = [
        {"id": row.id, "text": row.text, **by_text[row.text], "tag_labeller": "test"}
        for row in frame.itertuples()
        if row.text in by_text
    ]
    path = corpus.parent / "tags.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def tiny_tag_rows_by_text() -> tuple[list[str], list[dict[str, str]]]:
    texts, labels = tiny_tag_rows()
    return texts, [{tag: labels[tag][i] for tag in labels} for i in range(len(texts))]
