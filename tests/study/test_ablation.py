"""The recipe ablation runner: variants trained on the train side and evaluated on the dev side next to the base,
one record each, skipped when done, a killed variant resumed, the table regenerated; its settings' checks."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from transformers import TrainerCallback

from hybrid_plugin.data.splits import split_items
from hybrid_plugin.errors import UsageError
from hybrid_plugin.study.ablation import BASE_RECIPE, VARIANTS, AblationSettings, Variant, _trained_model, run_ablation
from hybrid_plugin.study.ablation_record import AblationRecord, ablation_markdown, read_records

pytestmark = pytest.mark.usefixtures("one_torch_thread")

ROOT = Path(__file__).resolve().parents[2]
LIMIT = 200


class StopAfterFirstCheckpoint(TrainerCallback):
    """A run killed right after its first checkpoint was written."""

    def on_save(self, args, state, control, **kwargs):
        raise KeyboardInterrupt(f"killed after checkpoint-{state.global_step}")


def _settings(tmp_path: Path, shared_data: Path, model: Path, **options) -> AblationSettings:
    values = dict(out=tmp_path / "records", work=tmp_path / "work", train="xquad-r", data=shared_data / "xquad-r",
                  model=str(model), variants=("scale20", "scale100"), steps=2, limit=LIMIT, device="cpu",
                  save_steps=1)
    values.update(options)
    return AblationSettings(**values)


@pytest.mark.slow
def test_the_runner_trains_evaluates_skips_and_resumes(tiny_xquad_model, shared_data, xquad, tmp_path):
    settings = _settings(tmp_path, shared_data, tiny_xquad_model)
    # scale100 was killed after its first checkpoint: the runner resumes it
    qa = xquad.limit(LIMIT)
    from hybrid_plugin.training import train

    with pytest.raises(KeyboardInterrupt):
        train(settings.training_settings("scale100"), qa=qa, callbacks=[StopAfterFirstCheckpoint()])
    records = run_ablation(settings, command="python benchmarks/training/ablation.py --steps 2")
    assert [r.name for r in records] == ["base", "scale20", "scale100"]
    dev = split_items(qa, 0.1).dev
    for record in records:
        assert record.split == dev.split.to_dict() and record.split["dev_items"] == 20
        assert all(0 < record.map[s] <= 1 for s in ("mono", "cross", "multi"))
        assert record.peak_rss_mib and record.peak_rss_mib > 0 and record.eval_seconds > 0
        results = json.loads(Path(record.results_file).read_text())
        assert results["dataset"]["split"] == dev.split.to_dict()  # evaluated on the dev side, recorded so
        assert results["settings"]["backend"] == "onnx"
        assert {q for q in results["per_query"]["en-en"]} == set(dev.qids)
        saved = AblationRecord.load(tmp_path / "records" / f"{record.name}.json")
        assert saved == record
    base, scale20, scale100 = records
    assert base.steps == 0 and scale20.steps == scale100.steps == 2
    assert scale20.overrides == {"scale": 20.0} and scale100.identity["training"]["scale"] == 100.0
    assert scale20.identity["training"]["batch_size"] == BASE_RECIPE["batch_size"]
    assert scale20.seconds_per_step and scale20.final_loss is not None
    report = json.loads((tmp_path / "work" / "scale100" / "model" / "training.json").read_text())
    assert report["resumed_from"].endswith("checkpoint-1") and report["global_step"] == 2
    assert not (tmp_path / "work" / "scale100" / "model" / "checkpoints").exists()  # removed once saved
    assert report["data"]["split"]["dev_digest"] == dev.split.dev_digest
    table = (tmp_path / "records" / "ablation.md").read_text()
    assert "| `scale100` | scale=100.0 | 2 |" in table and "python benchmarks/training/ablation.py --steps 2" in table
    assert f"{scale20.map['mono'] - base.map['mono']:+.4f}" in table

    # a rerun skips every finished record (nothing is trained or evaluated again)
    before = {p.name: p.read_bytes() for p in (tmp_path / "records").iterdir()}
    again = run_ablation(settings, command="another command")
    assert again == records and {p.name: p.read_bytes() for p in (tmp_path / "records").iterdir()} == before
    # records made with other settings are never mixed in or replaced
    with pytest.raises(UsageError, match=r"scale20.json was made with other settings \(recipe, training differ\)"):
        run_ablation(_settings(tmp_path, shared_data, tiny_xquad_model, steps=3))


def test_settings_check_every_variant_before_anything_runs(tmp_path):
    with pytest.raises(UsageError, match="--variants: unknown nope; choose from scale20, scale50"):
        AblationSettings(variants=("scale20", "nope"))
    with pytest.raises(UsageError, match=r"--dev-fraction must be a number in \(0, 1\)"):
        AblationSettings(dev_fraction=1.0)
    with pytest.raises(UsageError, match="--steps must be a positive integer, got 0"):
        AblationSettings(steps=0)
    with pytest.raises(UsageError, match="--lr must be a finite number > 0, got -1"):
        AblationSettings(variants=("bad",), catalogue={"bad": Variant("bad", {"lr": -1})})
    with pytest.raises(UsageError, match="variant opt: evaluate\\(\\) takes no option no_such_option"):
        AblationSettings(variants=("opt",), catalogue={"opt": Variant("opt", evaluation={"no_such_option": 1})})
    with pytest.raises(UsageError, match="the runner sets dev_fraction itself"):
        Variant("x", {"dev_fraction": 0.5})
    with pytest.raises(UsageError, match="variant name 'base' is not allowed"):
        Variant("base")
    with pytest.raises(UsageError, match="variant name '../x' is not allowed"):
        Variant("../x")


def test_the_shipped_variants_and_their_settings(tmp_path):
    assert {"scale20", "scale50", "scale100", "scale100-hn", "scale100-b128-cached", "scale100-lr1e-5"} <= set(VARIANTS)
    settings = AblationSettings(work=tmp_path / "work")
    cached = settings.training_settings("scale100-b128-cached")
    assert (cached.batch_size, cached.loss, cached.mini_batch_size, cached.scale) == (128, "cached-mnrl", 32, 100.0)
    assert (cached.dev_fraction, cached.dev_seed, cached.max_steps, cached.lr) == (0.1, 0, 200, 3e-5)
    assert cached.freeze_embeddings and cached.effective_alpha == 0.5 and cached.max_seq_length == 64
    assert Path(cached.out) == tmp_path / "work" / "scale100-b128-cached" / "model"
    assert settings.training_settings("scale100-hn").hard_negatives
    assert settings.identity("base") == {"train": "mlqa-r", "model": "default", "backend": "onnx", "limit": None,
                                         "dev_fraction": 0.1, "dev_seed": 0}


def _record(name: str, mono: float, **options) -> AblationRecord:
    values = dict(name=name, identity={"train": "mlqa-r", "backend": "onnx", "recipe": {"lr": 3e-5}},
                  overrides={} if name == "base" else {"scale": 100.0}, evaluation_options={},
                  map={"mono": mono, "cross": 0.6, "multi": 0.5}, bias=10.0,
                  split={"side": "dev", "fraction": 0.1, "seed": 0, "train_items": 1033, "dev_items": 115,
                         "dev_digest": "ab" * 32},
                  steps=0 if name == "base" else 200, seconds_per_step=None if name == "base" else 3.5,
                  train_seconds=0.0, eval_seconds=1.0, peak_rss_mib=1000.0, peak_gpu_mib=None, final_loss=None,
                  command="python benchmarks/training/ablation.py", results_file="r.json", created="now")
    values.update(options)
    return AblationRecord(**values)


def test_the_table_shows_deltas_and_the_forgetting_check(tmp_path):
    table = ablation_markdown([_record("base", 0.80), _record("kept", 0.796), _record("forgot", 0.79)])
    assert "| `kept` | scale=100.0 | 200 | 0.7960 | 0.6000 | 0.5000 | 10.0 | -0.0040 | +0.0000 | +0.0000 | yes |" \
        in table
    assert "| `forgot` |" in table and "| -0.0100 | +0.0000 | +0.0000 | **no** |" in table
    assert "115 items of 1148" in table and "python benchmarks/training/ablation.py" in table
    assert "not comparable" not in table
    other = _record("other", 0.8, split={**_record("x", 0).split, "dev_digest": "cd" * 32})
    assert "not comparable" in ablation_markdown([_record("base", 0.8), other])
    assert "No variant has finished yet" in ablation_markdown([])


def test_records_round_trip_and_are_read_in_order(tmp_path):
    from hybrid_plugin.study.ablation_record import write_record

    for record in (_record("zeta", 0.7), _record("alpha", 0.7), _record("base", 0.8)):
        write_record(record, tmp_path)
    assert [r.name for r in read_records(tmp_path, ("zeta",))] == ["base", "zeta", "alpha"]
    (tmp_path / "broken.json").write_text('{"name": "broken"}')
    with pytest.raises(Exception, match="broken.json.*not an ablation record: missing identity"):
        read_records(tmp_path)


def test_the_benchmark_script_lists_the_variants(capsys):
    spec = importlib.util.spec_from_file_location("ablation_script", ROOT / "benchmarks" / "training" / "ablation.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    assert script.main(["--list"]) == 0
    assert "scale100-b128-cached: {'scale': 100.0, 'batch_size': 128" in capsys.readouterr().out
    assert script.main(["--variants", "nope"]) == 2
    assert capsys.readouterr().err.strip().startswith("ablation: error: --variants: unknown nope")


@pytest.mark.slow
def test_lsar_after_training_reuses_the_model_and_before_training_keeps_the_map_frozen(
        tiny_xquad_model, shared_data, tmp_path):
    """'after' evaluates scale100-hn's own model with an LSAR fitted for it on NTREX-128 (not the training or the
    dev side); 'before' trains the base model with its LSAR as a layer, which training leaves as it was."""
    import torch
    from sentence_transformers import SentenceTransformer

    from hybrid_plugin.debias.module import projection_modules

    settings = _settings(tmp_path, shared_data, tiny_xquad_model, debias_data=shared_data / "ntrex-128",
                         debias_per_language=10,
                         variants=("scale100-hn", "scale100-hn-lsar-after", "scale100-hn-lsar-before"))
    records = {r.name: r for r in run_ablation(settings)}
    work = tmp_path / "work"
    after, plain = records["scale100-hn-lsar-after"], records["scale100-hn"]
    assert not (work / "scale100-hn-lsar-after" / "model").exists()  # the model of scale100-hn, trained once
    fitted = json.loads((work / "scale100-hn-lsar-after" / "debias" / "debias.json").read_text())
    assert fitted["method"] == "lsar" and fitted["fitted_on"]["dataset"] == "ntrex-128"
    assert fitted["fitted_on"]["per_language"] == 10 and fitted["model"]["path"].endswith("scale100-hn/model")
    assert after.evaluation_options["debias"] == {"debias": "after", "method": "lsar", "fit_on": "ntrex-128",
                                                  "per_language": 10}
    assert after.identity["debias"]["debias"] == "after" and "debias" not in plain.identity
    assert after.map != plain.map and after.steps == plain.steps == 2

    before = records["scale100-hn-lsar-before"]
    assert before.overrides["debias"] == "before" and before.steps == 2
    projected = SentenceTransformer(str(work / "scale100-hn-lsar-before" / "projected"), device="cpu")
    trained = SentenceTransformer(str(work / "scale100-hn-lsar-before" / "model"), device="cpu")
    [start], [end] = projection_modules(projected), projection_modules(trained)
    assert torch.equal(start.linear.weight, end.linear.weight)  # the map is frozen during training
    # a rerun finds every record done
    again = run_ablation(settings)
    assert [r.created for r in again] == [records[r.name].created if r.name in records else r.created for r in again]


def test_a_finished_run_made_before_a_setting_existed_is_reused(tmp_path):
    """A report without a setting added later (its default then) is the same run; another value is refused."""
    settings = AblationSettings(work=tmp_path / "work", out=tmp_path / "records", variants=("scale100-hn",))
    folder = tmp_path / "work" / "scale100-hn" / "model"
    folder.mkdir(parents=True)
    old = settings.training_settings("scale100-hn").to_json()
    del old["language_temperature"]  # the runs of the first ablation did not know it
    (folder / "training.json").write_text(json.dumps({"settings": old, "global_step": 100}))
    assert _trained_model(settings, "scale100-hn", qa=None)["global_step"] == 100
    old["language_temperature"] = old_default = 0.7
    assert settings.training_settings("scale100-hn").language_temperature != old_default
    (folder / "training.json").write_text(json.dumps({"settings": old}))
    with pytest.raises(UsageError, match=r"other settings \(language_temperature\)"):
        _trained_model(settings, "scale100-hn", qa=None)
