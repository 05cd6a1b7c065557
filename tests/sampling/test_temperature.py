"""Temperature sampling (``language_weights="temperature"``, p ∝ n^τ) on a collection whose languages have very
different sizes, cut from the real NTREX-128: the realised language shares follow n^τ, τ = 1 is "size" and τ = 0
"uniform", and the sampler's guarantees (no item or positive twice in a batch, one X-X language per batch, X-Y
rows in two different languages) hold."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hybrid_plugin import cli
from hybrid_plugin.data.loading import load_parallel_qa
from hybrid_plugin.errors import UsageError
from hybrid_plugin.sampling.metadata import PairMetadata
from hybrid_plugin.sampling.sampler import HybridBatchSampler
from hybrid_plugin.training.settings import TrainingSettings

LANGUAGES = ("en", "de", "sw", "yo")
SIZES = {"en": 480, "de": 240, "sw": 60, "yo": 30}  # items per language: a 16:1 skew
PROPERTY = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                             HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def skewed(shared_data) -> PairMetadata:
    """NTREX-128 sentences 1..480: item i exists in a language when i < its size; each row a (question, passage)
    pair of one item; a positive's text id is its sentence (equal sentences of a language share one id)."""
    qa = load_parallel_qa("ntrex-128", data=shared_data / "ntrex-128", languages=list(LANGUAGES))
    qids = list(qa.qids)[:max(SIZES.values())]
    text_id: dict[tuple[str, str], int] = {}
    items, qlang, plang, texts = [], [], [], []
    for i, qid in enumerate(qids):
        present = [j for j, lang in enumerate(LANGUAGES) if i < SIZES[lang]]
        for p in present:
            sentence = qa.positive(qid, LANGUAGES[p]).text
            tid = text_id.setdefault((LANGUAGES[p], sentence), len(text_id))
            for q in present:
                items.append(i)
                qlang.append(q)
                plang.append(p)
                texts.append(tid)
    return PairMetadata.from_arrays(items, qlang, plang, LANGUAGES, texts=texts)


def x_x_counts(meta: PairMetadata) -> np.ndarray:
    return np.array([SIZES[lang] for lang in LANGUAGES], dtype=np.float64)


@PROPERTY
@given(tau=st.floats(0.0, 1.0), seed=st.integers(0, 1000))
def test_realised_language_shares_follow_n_to_the_tau(skewed, tau, seed):
    sampler = HybridBatchSampler(skewed, batch_size=8, alpha=1.0, language_weights="temperature", temperature=tau,
                                 seed=seed, steps_per_epoch=200, num_replicas=1)
    n = x_x_counts(skewed)
    expected = n ** tau / np.sum(n ** tau)
    L = skewed.num_languages
    w_xx = sampler.weights[0]
    assert np.allclose([w_xx[j * L + j] for j in range(L)], expected)
    plan = sampler.plan()
    step_language = skewed.query_language[plan.rows[:, 0]]
    realised = np.bincount(step_language, minlength=L)
    assert np.all(np.abs(realised - expected * sampler.num_steps) < 1.0 + 1e-9)  # quota: within one batch


def test_tau_one_is_size_and_tau_zero_is_uniform(skewed):
    def weights(**options):
        return HybridBatchSampler(skewed, batch_size=8, num_replicas=1, **options).weights

    for got, want in ((weights(language_weights="temperature", temperature=1.0), weights(language_weights="size")),
                      (weights(language_weights="temperature", temperature=0.0), weights(language_weights="uniform"))):
        assert np.allclose(got[0], want[0]) and np.allclose(got[1], want[1])


@PROPERTY
@given(tau=st.floats(0.0, 1.0), alpha=st.floats(0.0, 1.0), seed=st.integers(0, 1000),
       xy_mode=st.sampled_from(["pair_per_batch", "pair_per_example"]), mixing=st.sampled_from(["batch", "example"]))
def test_guarantees_hold_on_skewed_languages(skewed, tau, alpha, seed, xy_mode, mixing):
    sampler = HybridBatchSampler(skewed, batch_size=6, num_replicas=2, alpha=alpha, language_weights="temperature",
                                 temperature=tau, xy_mode=xy_mode, mixing=mixing, seed=seed, steps_per_epoch=60)
    for rows in sampler.plan().rows:
        items = skewed.item[rows]
        positives = skewed.texts[rows, 0]
        assert len(set(items.tolist())) == len(rows), "an item twice in a batch"
        assert len(set(positives.tolist())) == len(rows), "a positive passage twice in a batch"
        q, p = skewed.query_language[rows], skewed.passage_language[rows]
        xx = q == p
        if mixing == "batch":
            assert xx.all() or not xx.any(), "a batch mixes X-X and X-Y rows"
            if xx.all():
                assert len(set(q.tolist())) == 1, "an X-X batch has one language"
            elif xy_mode == "pair_per_batch":
                assert len(set(zip(q.tolist(), p.tolist()))) == 1, "an X-Y batch has one language pair"
        # an X-Y row's two sides are in two languages, and both sides of the item exist there
        for r in rows[~xx]:
            assert skewed.query_language[r] != skewed.passage_language[r]
            assert int(skewed.item[r]) < min(SIZES[LANGUAGES[skewed.query_language[r]]],
                                             SIZES[LANGUAGES[skewed.passage_language[r]]])


@pytest.mark.parametrize("value", [-0.1, 1.5, float("nan"), True, "0.3"])
def test_bad_temperatures_are_one_line_usage_errors(skewed, value):
    with pytest.raises(UsageError, match="temperature must be a number in") as caught:
        HybridBatchSampler(skewed, batch_size=8, language_weights="temperature", temperature=value)
    assert "\n" not in str(caught.value)


def test_training_settings_and_flag_check_the_temperature(tmp_path, capsys):
    settings_ok = TrainingSettings(train="xquad-r", out=tmp_path / "o", language_weights="temperature",
                                   language_temperature=0.5)
    assert settings_ok.language_temperature == 0.5
    with pytest.raises(UsageError, match="--language-temperature must be in"):
        TrainingSettings(train="xquad-r", out=tmp_path / "o", language_temperature=2.0)
    assert cli.main(["train", "--train", "xquad-r", "--out", str(tmp_path / "o"), "--language-temperature", "2"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--language-temperature" in err[0]


def test_configure_checks_and_binds_the_temperature(skewed):
    bound = HybridBatchSampler.configure(language_weights="temperature", temperature=0.5)
    sampler = bound(skewed, batch_size=8, num_replicas=1)
    assert sampler.temperature == 0.5 and sampler.describe()["temperature"] == 0.5
    with pytest.raises(UsageError, match="temperature must be a number in"):
        HybridBatchSampler.configure(language_weights="temperature", temperature=2)
