"""TSDAE mixed with hybrid batches: the noise, the step mixer, real mixed runs on a tiny model, bad input."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings as hypothesis_settings, strategies as st

from hybrid_plugin.errors import UsageError

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TINY_LANGUAGES = ("en", "de", "es")  # the languages of conftest's tiny_xquad_model


@pytest.fixture(scope="module")
def slice_qa(xquad):
    return xquad.select_languages(TINY_LANGUAGES).limit(40)


@pytest.fixture(scope="module")
def news(shared_data):
    from hybrid_plugin.data.loading import load_parallel_qa

    qa = load_parallel_qa("ntrex-128", data=shared_data / "ntrex-128", languages=["en", "de"])
    return [t for lang in qa.languages for t in list(qa.questions[lang].values())[:30]]


def _settings(model, out, **options):
    from hybrid_plugin.training import TrainingSettings

    defaults = dict(train="xquad-r", out=out, model=str(model), max_steps=4, batch_size=8, lr=1e-3,
                    warmup_ratio=0.0, logging_steps=1, device="cpu", seed=1)
    return TrainingSettings(**{**defaults, **options})


# ---------------------------------------------------------------------------------------------------- the noise


@given(st.lists(st.text(alphabet="abc xyz", min_size=1, max_size=6), min_size=1, max_size=20),
       st.floats(0.0, 0.95), st.integers(0, 2**16))
@hypothesis_settings(max_examples=60, deadline=None)
def test_delete_words_keeps_an_ordered_non_empty_subset(words, ratio, seed):
    from hybrid_plugin.adaptation.denoising import delete_words

    text = " ".join(words)
    damaged = delete_words(text, ratio, np.random.default_rng(seed))
    assert damaged == delete_words(text, ratio, np.random.default_rng(seed))  # seeded
    original, kept = text.split(), damaged.split()
    if not original:
        assert damaged == text
        return
    assert 1 <= len(kept) <= len(original)
    it = iter(original)
    assert all(word in it for word in kept)  # a subsequence: words deleted, none added or moved
    if ratio == 0.0:
        assert kept == original


def test_deletion_ratio_is_the_share_of_words_deleted():
    from hybrid_plugin.adaptation.denoising import delete_words

    rng = np.random.default_rng(0)
    text = " ".join(f"w{i}" for i in range(20000))
    kept = len(delete_words(text, 0.6, rng).split())
    assert abs(1 - kept / 20000 - 0.6) < 0.02


def test_denoising_rows_are_damaged_then_original():
    from hybrid_plugin.adaptation.denoising import build_denoising_dataset

    rows = build_denoising_dataset(["one two three four five", "sechs sieben acht"], 0.5, seed=3)
    assert rows.column_names == ["damaged", "original"]
    assert rows["original"] == ["one two three four five", "sechs sieben acht"]
    assert rows["damaged"] == build_denoising_dataset(rows["original"], 0.5, seed=3)["damaged"]


# ---------------------------------------------------------------------------------------------------- the mixer


@given(st.integers(1, 500), st.floats(0.01, 0.99))
def test_an_epoch_holds_every_hybrid_step_and_no_more_steps(hybrid_steps, share):
    from hybrid_plugin.adaptation.step_mixer import steps_per_epoch

    n = steps_per_epoch(hybrid_steps, share)
    fraction = __import__("fractions").Fraction(share).limit_denominator(10**6)
    assert n - math.floor(n * fraction) == hybrid_steps
    assert (n + 1) - math.floor((n + 1) * fraction) > hybrid_steps  # the epoch ends before the next one


@pytest.mark.parametrize(("share", "pattern"), [(0.5, "HDHDHDHD"), (0.25, "HHHDHHHD"), (0.75, "HDDD")])
def test_the_mixer_interleaves_steps_in_the_share(share, pattern):
    import torch
    from sentence_transformers.base.sampler import DefaultBatchSampler
    from torch.utils.data import ConcatDataset, RandomSampler

    from hybrid_plugin.adaptation.step_mixer import DenoisingStepMixer
    from hybrid_plugin.sampling import HybridBatchSampler, PairMetadata

    # 8 items x 2 languages x 2 languages = 32 rows, batches of 4
    items, q, p = np.meshgrid(np.arange(8), [0, 1], [0, 1], indexing="ij")
    meta = PairMetadata.from_arrays(item=items.ravel(), query_language=q.ravel(), passage_language=p.ravel(),
                                    languages=("en", "de"))
    hybrid = HybridBatchSampler(meta, batch_size=4, num_replicas=1, steps_per_epoch=len(pattern) - pattern.count("D"))
    texts = list(range(10))
    generator = torch.Generator()
    denoising = DefaultBatchSampler(RandomSampler(texts, generator=generator), batch_size=3, drop_last=True)
    mixer = DenoisingStepMixer(ConcatDataset([list(range(32)), texts]), [hybrid, denoising], generator, seed=5,
                               share=share)
    batches = list(mixer)
    assert len(batches) == len(mixer) == len(pattern)
    assert "".join("D" if min(b) >= 32 else "H" for b in batches) == pattern
    assert all(len(b) == (3 if min(b) >= 32 else 4) for b in batches)
    assert [mixer.hybrid_steps_before(k) for k in range(len(pattern) + 1)] == [
        pattern[:k].count("H") for k in range(len(pattern) + 1)]
    assert batches == list(mixer)  # the same epoch again: the same batches


def test_the_callback_finds_the_hybrid_sampler_inside_the_mixer():
    from hybrid_plugin.sampling.sampler import find_hybrid_sampler, find_step_mixer

    class Holder:
        def __init__(self, **children):
            self.__dict__.update(children)

    hybrid = object.__new__(__import__("hybrid_plugin.sampling", fromlist=["x"]).HybridBatchSampler)
    mixer = Holder(hybrid_sampler=hybrid, hybrid_steps_before=lambda k: k)
    loader = Holder(batch_sampler=mixer)
    assert find_hybrid_sampler(loader) is hybrid
    assert find_step_mixer(loader) is mixer
    assert find_step_mixer(Holder(batch_sampler=hybrid)) is None


# ---------------------------------------------------------------------------------------------------- real runs


def test_a_mixed_run_trains_both_objectives(tiny_xquad_model, slice_qa, news, tmp_path):
    import torch
    from sentence_transformers import SentenceTransformer

    from hybrid_plugin.adaptation.denoising import adapt_with_denoising

    out = tmp_path / "run"
    result = adapt_with_denoising(_settings(tiny_xquad_model, out), news, share=0.5, denoising_batch_size=4,
                                  qa=slice_qa)
    report = json.loads((out / "training.json").read_text())
    assert report == json.loads(json.dumps(result.report))
    tsdae = report["denoising"]
    assert tsdae["steps"] == {"hybrid": 2, "denoising": 2} and report["global_step"] == 4
    assert [e["objective"] for e in tsdae["losses"]] == ["hybrid", "denoising"] * 2
    assert [e["step"] for e in tsdae["losses"]] == [1, 2, 3, 4]
    assert all(np.isfinite(e["loss"]) and e["loss"] > 0 for e in tsdae["losses"])
    assert tsdae["texts"] == len(news) and tsdae["deletion_ratio"] == 0.6 and tsdae["share"] == 0.5
    assert len(tsdae["texts_checksum"]) == 64 and tsdae["decoder"]["class"] == "BertLMHeadModel"
    assert report["sampling"]["realised"]["pairs"] == 2 * 8  # the callback counts the hybrid batches only
    assert report["timings"]["seconds_per_step"] > 0
    # the saved folder is the encoder alone, trained
    adapted = SentenceTransformer(str(out), device="cpu")
    base = SentenceTransformer(str(tiny_xquad_model), device="cpu")
    assert not any("crossattention" in k for k in adapted.state_dict())
    assert set(adapted.state_dict()) == set(base.state_dict())
    changed = [k for k, v in adapted.state_dict().items() if not torch.equal(v, base.state_dict()[k])]
    assert any("encoder.layer" in k for k in changed)
    assert adapted.encode(["hello world"]).shape == (1, 32)
    assert not (out / "checkpoints").exists() or not any((out / "checkpoints").iterdir())


def test_a_mixed_run_is_deterministic_and_keeps_the_share(tiny_xquad_model, slice_qa, news, tmp_path):
    from hybrid_plugin.adaptation.denoising import adapt_with_denoising

    runs = [adapt_with_denoising(_settings(tiny_xquad_model, tmp_path / f"run{i}"), news, share=0.25,
                                 denoising_batch_size=4, qa=slice_qa).report["denoising"] for i in range(2)]
    assert runs[0]["steps"] == {"hybrid": 3, "denoising": 1}
    assert runs[0]["losses"] == runs[1]["losses"]


# ---------------------------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(("texts", "options", "message"), [
    ([], {}, "texts is empty"),
    (["", "  ", "\n"], {}, "all empty"),
    ("one sentence", {}, "sequence of sentences"),
    (["fine", 3], {}, r"texts\[1\] must be a string"),
    (["a b c"] * 10, {"share": 0.0}, r"share .* \(0, 1\), got 0.0"),
    (["a b c"] * 10, {"share": 1}, r"share .* \(0, 1\), got 1"),
    (["a b c"] * 10, {"share": True}, r"share .* got True"),
    (["a b c"] * 10, {"deletion_ratio": 1.0}, r"deletion_ratio .* \[0, 1\), got 1.0"),
    (["a b c"] * 10, {"denoising_batch_size": 0}, "denoising_batch_size must be a positive integer"),
    (["a b c"] * 3, {"denoising_batch_size": 4}, "fewer than one TSDAE batch of 4"),
])
def test_bad_input_is_one_line_before_the_output_is_touched(tiny_model, tmp_path, texts, options, message):
    from hybrid_plugin.adaptation.denoising import adapt_with_denoising

    out = tmp_path / "run"
    with pytest.raises(UsageError, match=message) as caught:
        adapt_with_denoising(_settings(tiny_model, out), texts, **options)
    assert "\n" not in str(caught.value)
    assert not out.exists()


def test_resume_is_refused_and_an_existing_run_is_left_as_it_was(tiny_model, tmp_path):
    from hybrid_plugin.adaptation.denoising import adapt_with_denoising

    out = tmp_path / "run"
    with pytest.raises(UsageError, match="does not resume"):
        adapt_with_denoising(_settings(tiny_model, out, resume=True), ["a b c"] * 10)
    out.mkdir()
    (out / "mine.txt").write_text("keep")
    with pytest.raises(UsageError):
        adapt_with_denoising(_settings(tiny_model, out), ["a b c"] * 10)
    assert [p.name for p in out.iterdir()] == ["mine.txt"] and (out / "mine.txt").read_text() == "keep"


def test_frozen_embeddings_stay_frozen_after_the_decoder_is_tied(tiny_xquad_model, slice_qa, news, tmp_path):
    import torch
    from sentence_transformers import SentenceTransformer

    from hybrid_plugin.adaptation.denoising import adapt_with_denoising

    out = tmp_path / "run"
    adapt_with_denoising(_settings(tiny_xquad_model, out, max_steps=2, freeze_embeddings=True), news,
                         denoising_batch_size=4, qa=slice_qa)
    adapted, base = (SentenceTransformer(str(p), device="cpu").state_dict() for p in (out, tiny_xquad_model))
    name = next(k for k in base if k.endswith("word_embeddings.weight"))
    assert torch.equal(adapted[name], base[name])
    assert any(not torch.equal(adapted[k], base[k]) for k in base if "encoder.layer" in k)
