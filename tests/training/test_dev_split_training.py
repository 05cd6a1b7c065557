"""Training beside a development split: real steps on the train side only, the split in training.json, resume
refuses a changed split, the settings' checks."""

from __future__ import annotations

import json

import pytest
from transformers import TrainerCallback

from hybrid_plugin.data.splits import split_items
from hybrid_plugin.errors import UsageError
from hybrid_plugin.training.settings import TrainingSettings

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TINY_LANGUAGES = ("en", "de", "es")  # the languages of conftest's tiny_xquad_model


@pytest.fixture(scope="module")
def slice_qa(xquad):
    return xquad.select_languages(TINY_LANGUAGES).limit(150)


class RowsSeen(TrainerCallback):
    """Keeps the text columns of the dataset the trainer's DataLoader serves, and the rows of its first epoch's
    batches (as the sampler draws them)."""

    def __init__(self) -> None:
        self.texts: set[str] = set()
        self.batches: list[list[int]] = []

    def on_train_begin(self, args, state, control, train_dataloader=None, **kwargs):
        dataset = train_dataloader.dataset
        for column in ("anchor", "positive", "negative"):
            if column in dataset.column_names:
                self.texts.update(dataset[column])
        self.batches = [list(batch) for batch in train_dataloader.batch_sampler]
        self.rows = [dataset[i] for batch in self.batches for i in batch]


def _settings(model, out, **options) -> TrainingSettings:
    values = dict(train="xquad-r", out=out, model=str(model), max_steps=2, batch_size=6, device="cpu",
                  dev_fraction=0.25, dev_seed=3)
    values.update(options)
    return TrainingSettings(**values)


def _texts(qa) -> set[str]:
    return ({t for lang in qa.languages for t in qa.questions[lang].values()}
            | {c.text for lang in qa.languages for c in qa.candidates[lang]})


def test_training_uses_the_train_side_only_and_records_the_split(tiny_xquad_model, slice_qa, tmp_path):
    from hybrid_plugin.training import train

    seen = RowsSeen()
    result = train(_settings(tiny_xquad_model, tmp_path / "run", hard_negatives=True), qa=slice_qa, callbacks=[seen])
    split = split_items(slice_qa, 0.25, seed=3)
    dev_only = _texts(split.dev) - _texts(split.train)
    assert len(dev_only) > 100  # the dev side's questions and every sentence of its paragraphs
    assert seen.texts and not seen.texts & dev_only  # no dev question, answer or paragraph sentence in the rows
    assert seen.texts <= _texts(split.train)
    drawn = {text for row in seen.rows for text in row.values()}
    assert drawn and not drawn & dev_only  # nor in the batches the sampler draws
    report = json.loads((tmp_path / "run" / "training.json").read_text())
    assert report == json.loads(json.dumps(result.report))
    train_items, dev_items = len(split.train.qids), len(split.dev.qids)
    assert train_items + dev_items == 150 and 0 < dev_items <= 38
    assert report["data"]["split"] == {"side": "train", "fraction": 0.25, "seed": 3, "train_items": train_items,
                                       "dev_items": dev_items, "dev_digest": split.dev_digest}
    assert report["data"]["items"] == train_items and report["settings"]["dev_fraction"] == 0.25
    assert report["global_step"] == 2


def test_the_limit_applies_to_the_train_side(tiny_xquad_model, slice_qa, tmp_path):
    from hybrid_plugin.training import train

    report = train(_settings(tiny_xquad_model, tmp_path / "run", limit=30), qa=slice_qa).report
    assert report["data"]["items"] == 30
    assert report["data"]["split"]["train_items"] == len(split_items(slice_qa, 0.25, seed=3).train.qids)


def test_resume_refuses_a_changed_split(tiny_xquad_model, slice_qa, tmp_path):
    from hybrid_plugin.training import train

    out = tmp_path / "run"
    train(_settings(tiny_xquad_model, out), qa=slice_qa)
    with pytest.raises(UsageError, match=r"changed: dev_fraction \(0\.25 -> 0\.3\)"):
        train(_settings(tiny_xquad_model, out, max_steps=3, resume=True, dev_fraction=0.3), qa=slice_qa)
    with pytest.raises(UsageError, match=r"changed: dev_seed \(3 -> 4\)"):
        train(_settings(tiny_xquad_model, out, max_steps=3, resume=True, dev_seed=4), qa=slice_qa)
    with pytest.raises(UsageError, match=r"changed: dev_fraction \(0\.25 -> None\), dev_seed \(3 -> 0\)"):
        train(_settings(tiny_xquad_model, out, max_steps=3, resume=True, dev_fraction=None, dev_seed=0),
              qa=slice_qa)
    report = train(_settings(tiny_xquad_model, out, max_steps=3, resume=True), qa=slice_qa).report
    assert report["global_step"] == 3
    assert report["data"]["split"]["dev_digest"] == split_items(slice_qa, 0.25, seed=3).dev_digest


def test_a_side_too_small_is_refused_before_the_output_is_touched(tiny_xquad_model, slice_qa, tmp_path):
    from hybrid_plugin.training import train

    with pytest.raises(UsageError, match="--dev-fraction 0.001 of xquad-r's 150 items leaves the dev side empty"):
        train(_settings(tiny_xquad_model, tmp_path / "run", dev_fraction=0.001), qa=slice_qa)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("options", "message"), [
    ({"dev_fraction": 1.0}, r"--dev-fraction must be a number in \(0, 1\)"),
    ({"dev_fraction": 0}, r"--dev-fraction must be a number in \(0, 1\)"),
    ({"dev_fraction": float("inf")}, r"--dev-fraction must be a number in \(0, 1\)"),
    ({"dev_fraction": 0.1, "dev_seed": -1}, r"--dev-seed must be an integer in \[0, 4294967295\], got -1"),
    ({"dev_seed": "1"}, r"--dev-seed must be an integer"),
])
def test_settings_check_the_split_options(tmp_path, options, message):
    with pytest.raises(UsageError, match=message) as caught:
        TrainingSettings(train="xquad-r", out=tmp_path / "o", **options)
    assert "\n" not in str(caught.value)


def test_a_run_made_before_the_split_options_existed_resumes(tmp_path):
    before = TrainingSettings(train="xquad-r", out=tmp_path / "o").to_json()
    del before["dev_fraction"], before["dev_seed"]
    assert TrainingSettings(train="xquad-r", out=tmp_path / "o").changed_since(before) == []
    assert TrainingSettings(train="xquad-r", out=tmp_path / "o", dev_fraction=0.1).changed_since(before) == [
        "dev_fraction (None -> 0.1)"]
