"""TrainingSettings: every option checked once, when the settings are made, with a one-line message naming the
option and the value; the paper preset."""

from __future__ import annotations

import math

import pytest

from hybrid_plugin.errors import UsageError
from hybrid_plugin.training import TrainingSettings


def test_settings_reject_bad_values():
    with pytest.raises(UsageError, match="--alpha must be in"):
        TrainingSettings(train="xquad-r", out="x", alpha=2.0)
    with pytest.raises(UsageError, match="--alpha goes with --sampling hybrid"):
        TrainingSettings(train="xquad-r", out="x", sampling="xy", alpha=0.3)
    with pytest.raises(UsageError, match="--sampling must be one of"):
        TrainingSettings(train="xquad-r", out="x", sampling="mixed")
    with pytest.raises(UsageError, match="--batch-size must be a positive integer"):
        TrainingSettings(train="xquad-r", out="x", batch_size=0)
    with pytest.raises(UsageError, match="--resume and --overwrite"):
        TrainingSettings(train="xquad-r", out="x", resume=True, overwrite=True)
    assert TrainingSettings(train="xquad-r", out="x", sampling="xx").effective_alpha == 1.0


BAD_OPTIONS = [
    # (option, bad value, what the message says after "--option ")
    ("lr", math.inf, "--lr must be a finite number > 0, got inf"),
    ("lr", -math.inf, "--lr must be a finite number > 0, got -inf"),
    ("lr", math.nan, "--lr must be a finite number > 0, got nan"),
    ("lr", 0.0, "--lr must be a finite number > 0, got 0.0"),
    ("lr", "3e-5", "--lr must be a finite number > 0, got '3e-5'"),
    ("weight_decay", math.nan, "--weight-decay must be a finite number >= 0, got nan"),
    ("weight_decay", math.inf, "--weight-decay must be a finite number >= 0, got inf"),
    ("weight_decay", -0.01, "--weight-decay must be a finite number >= 0, got -0.01"),
    ("warmup_ratio", 1.0, "--warmup-ratio must be in [0, 1), got 1.0"),
    ("warmup_ratio", math.nan, "--warmup-ratio must be in [0, 1), got nan"),
    ("warmup_ratio", -0.1, "--warmup-ratio must be in [0, 1), got -0.1"),
    ("epochs", 0.0, "--epochs must be a finite number > 0, got 0.0"),
    ("epochs", math.inf, "--epochs must be a finite number > 0, got inf"),
    ("epochs", math.nan, "--epochs must be a finite number > 0, got nan"),
    ("scale", math.nan, "--scale must be a finite number > 0, got nan"),
    ("scale", 0, "--scale must be a finite number > 0, got 0"),
    ("alpha", math.nan, "--alpha must be in [0, 1] (1 = X-X only, 0 = X-Y only), got nan"),
    ("alpha", -0.5, "--alpha must be in [0, 1] (1 = X-X only, 0 = X-Y only), got -0.5"),
    ("alpha", True, "--alpha must be in [0, 1] (1 = X-X only, 0 = X-Y only), got True"),
    ("alpha_schedule", 1.5, "--alpha-schedule must be in [0, 1], got 1.5"),
    ("alpha_schedule", "linear", "--alpha-schedule must be 'curriculum', a number in [0, 1] or a function of the "
                                 "epoch, got 'linear'"),
    ("batch_size", 0, "--batch-size must be a positive integer, got 0"),
    ("batch_size", 8.0, "--batch-size must be a positive integer, got 8.0"),
    ("batch_size", True, "--batch-size must be a positive integer, got True"),
    ("max_seq_length", -1, "--max-seq-length must be a positive integer, got -1"),
    ("mini_batch_size", 0, "--mini-batch-size must be a positive integer, got 0"),
    ("logging_steps", 0, "--logging-steps must be a positive integer, got 0"),
    ("save_total_limit", 0, "--save-total-limit must be a positive integer, got 0"),
    ("max_steps", 0, "--max-steps must be a positive integer, got 0"),
    ("limit", -3, "--limit must be a positive integer, got -3"),
    ("save_steps", 0.5, "--save-steps must be a positive integer, got 0.5"),
    ("seed", -1, "--seed must be an integer in [0, 4294967295], got -1"),
    ("seed", 2**32, "--seed must be an integer in [0, 4294967295], got 4294967296"),
    ("seed", 1.5, "--seed must be an integer in [0, 4294967295], got 1.5"),
    ("sampling", "mixed", "--sampling must be one of hybrid, xx, xy, got 'mixed'"),
    ("loss", "triplet", "--loss must be one of mnrl, cached-mnrl, got 'triplet'"),
    ("language_weights", "by-size", "--language-weights must be one of uniform, size, temperature, got 'by-size'"),
    ("xy_mode", "per_pair", "--xy-mode must be one of pair_per_batch, pair_per_example, got 'per_pair'"),
    ("mixing", "slot", "--mixing must be one of batch, example, got 'slot'"),
    ("resume", "yes", "--resume is a switch (True or False), got 'yes'"),
    ("hard_negatives", 1, "--hard-negatives is a switch (True or False), got 1"),
    ("train", "", "--train must name a dataset or a path, got ''"),
    ("out", None, "--out must name a dataset or a path, got None"),
    ("device", "", "--device must name a device (cpu, cuda, cuda:1, mps), got ''"),
    ("languages", "en", "--languages must be a list of language codes, got 'en'"),
    ("languages", ["en", ""], "--languages must be a list of language codes, got ['en', '']"),
    ("languages", ["en", "de", "en"], "--languages names en more than once"),
    ("languages", ["en"], "X-Y batches (--sampling hybrid) need at least two --languages, got en"),
]


@pytest.mark.parametrize(("option", "value", "message"), BAD_OPTIONS,
                         ids=[f"{o}={v!r}" for o, v, _ in BAD_OPTIONS])
def test_a_bad_option_is_one_line_naming_it(option, value, message):
    with pytest.raises(UsageError) as caught:
        TrainingSettings(**{"train": "xquad-r", "out": "x", option: value})
    assert str(caught.value) == message
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("options", [
    {"alpha": 0.0}, {"alpha": 1}, {"warmup_ratio": 0.0}, {"weight_decay": 0}, {"lr": 1}, {"seed": 2**32 - 1},
    {"alpha_schedule": "curriculum"}, {"alpha_schedule": 0.3}, {"alpha_schedule": lambda epoch: 0.5},
    {"languages": ["en"], "sampling": "xx"}, {"max_steps": None, "epochs": 0.5}, {"device": "cuda:3"},
])
def test_good_options_pass(options):
    settings = TrainingSettings(train="xquad-r", out="x", **options)
    assert all(getattr(settings, k) == (tuple(v) if isinstance(v, list) else v) for k, v in options.items())


def test_a_resumed_run_keeps_the_settings_that_shape_its_batches():
    before = TrainingSettings(train="xquad-r", out="x", seed=1, lr=1e-4).to_json()
    assert TrainingSettings(train="xquad-r", out="x", seed=1, lr=5e-5).changed_since(before) == []
    assert TrainingSettings(train="xquad-r", out="x", seed=2, lr=1e-4).changed_since(before) == ["seed (1 -> 2)"]
    # the loss's scale changes what is learnt from the same batches
    assert TrainingSettings(train="xquad-r", out="x", seed=1, scale=100).changed_since(before) == ["scale (20.0 -> 100)"]
    older = {k: v for k, v in before.items() if k != "scale"}  # a run.json written before scale was kept
    assert TrainingSettings(train="xquad-r", out="x", seed=1).changed_since(older) == []


def test_paper_preset_fills_what_is_not_given(tmp_path):
    from hybrid_plugin.cli import build_parser
    from hybrid_plugin.cli.train import settings_from_args

    args = build_parser().parse_args(["train", "--train", "xquad-r", "--out", str(tmp_path), "--paper",
                                      "--batch-size", "64"])
    settings = settings_from_args(args)
    assert (settings.batch_size, settings.lr, settings.weight_decay, settings.max_steps, settings.epochs) == \
        (64, 3e-5, 0.01, None, 1.0)
    quick = settings_from_args(build_parser().parse_args(["train", "--train", "xquad-r", "--out", str(tmp_path)]))
    assert (quick.batch_size, quick.max_steps, quick.max_seq_length) == (32, 50, 64)


def test_scale_from_the_command_line(tmp_path):
    from hybrid_plugin.cli import build_parser
    from hybrid_plugin.cli.train import settings_from_args

    parser = build_parser()
    base = ["train", "--train", "xquad-r", "--out", str(tmp_path)]
    assert settings_from_args(parser.parse_args(base)).scale == 20.0
    assert settings_from_args(parser.parse_args([*base, "--scale", "100"])).scale == 100.0
    for bad in ("0", "-1", "nan", "inf"):
        with pytest.raises(SystemExit):
            parser.parse_args([*base, "--scale", bad])
