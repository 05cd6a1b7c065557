"""hybrid_plugin.debias.transform: the exact algebra of each method on random matrices (hypothesis), the record's
checks and errors, the digest, and the save / load round trip."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hybrid_plugin.debias.fitting import fit_embeddings
from hybrid_plugin.debias.transform import METHODS, ROLES, FitSource, LanguageDebias
from hybrid_plugin.errors import UsageError

from debiaskit import MODEL, SOURCE, random_embeddings


def fit(embeddings, method, rank=None, normalize=False):
    return fit_embeddings(embeddings, method=method, rank=rank, normalize=normalize, source=SOURCE, model=MODEL)


seeds = st.integers(0, 2**32 - 1)


@settings(max_examples=30, deadline=None)
@given(seed=seeds, rows=st.integers(1, 15), dim=st.integers(2, 9))
def test_centering_zeroes_every_fitted_language_mean(seed, rows, dim):
    embeddings = random_embeddings(seed, rows=rows, dim=dim)
    debias = fit(embeddings, "center")
    for role in ROLES:
        for lang, vectors in embeddings[role].items():
            out = debias.apply(vectors, language=lang, role=role)
            np.testing.assert_allclose(out.mean(axis=0), 0, atol=1e-5)
            np.testing.assert_allclose(out, vectors - vectors.mean(axis=0), atol=1e-5)


@settings(max_examples=30, deadline=None)
@given(seed=seeds, dim=st.integers(3, 9), languages=st.integers(2, 4), data=st.data())
def test_lsar_is_one_idempotent_projection_orthogonal_to_its_subspace(seed, dim, languages, data):
    langs = tuple(f"l{i}" for i in range(languages))
    rank = data.draw(st.integers(1, min(2 * (languages - 1), dim - 1)))
    embeddings = random_embeddings(seed, languages=langs, dim=dim)
    debias = fit(embeddings, "lsar", rank)
    projection = debias.projection
    np.testing.assert_allclose(projection, projection.T, atol=1e-10)
    np.testing.assert_allclose(projection @ projection, projection, atol=1e-10)
    np.testing.assert_allclose(projection @ debias.basis, 0, atol=1e-10)
    vectors = np.random.default_rng(seed).normal(size=(5, dim))
    once = debias.apply(vectors, role="query")
    np.testing.assert_allclose(once, vectors @ projection, atol=1e-5)
    np.testing.assert_allclose(once @ debias.basis, 0, atol=1e-5)
    np.testing.assert_allclose(debias.apply(once, role="passage"), once, atol=1e-5)  # one map for both roles
    np.testing.assert_allclose(debias.apply(vectors, language="xx", role="query"), once)  # no language needed


def test_lsar_with_full_rank_removes_every_difference_between_language_means():
    embeddings = random_embeddings(1, languages=("en", "de", "zh"), dim=8)
    debias = fit(embeddings, "lsar", 4)  # 2 roles x (3 - 1) centred means
    for role in ROLES:
        means = np.stack([debias.apply(v, role=role).mean(axis=0) for v in embeddings[role].values()])
        np.testing.assert_allclose(means - means[0], 0, atol=1e-5)


@settings(max_examples=30, deadline=None)
@given(seed=seeds, dim=st.integers(3, 9), data=st.data())
def test_lir_removes_each_languages_top_directions(seed, dim, data):
    rank = data.draw(st.integers(1, dim - 1))
    embeddings = random_embeddings(seed, rows=12, dim=dim, scales=True)
    debias = fit(embeddings, "lir", rank)
    for role in ROLES:
        for lang, vectors in embeddings[role].items():
            basis = debias.bases[role][lang]
            _, _, vt = np.linalg.svd(vectors, full_matrices=False)  # the reference: top right singular vectors
            np.testing.assert_allclose(basis @ basis.T, vt[:rank].T @ vt[:rank], atol=1e-6)
            out = debias.apply(vectors, language=lang, role=role)
            np.testing.assert_allclose(out @ basis, 0, atol=1e-4)
            np.testing.assert_allclose(out, vectors - vectors @ basis @ basis.T, atol=1e-4)


@settings(max_examples=20, deadline=None)
@given(seed=seeds, method=st.sampled_from(METHODS))
def test_results_are_unit_length_when_the_model_normalises(seed, method):
    embeddings = random_embeddings(seed)
    debias = fit(embeddings, method, None if method == "center" else 1, normalize=True)
    out = debias.apply(embeddings["passage"]["de"], language="de", role="passage")
    assert out.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1, atol=1e-6)
    assert debias.apply(embeddings["passage"]["de"][0], language="de", role="passage").shape == (8,)


@settings(max_examples=15, deadline=None)
@given(seed=seeds, method=st.sampled_from(METHODS), normalize=st.booleans())
def test_save_and_load_give_the_same_transform(tmp_path_factory, seed, method, normalize):
    embeddings = random_embeddings(seed)
    debias = fit(embeddings, method, None if method == "center" else 2, normalize=normalize)
    folder = tmp_path_factory.mktemp("debias")
    assert debias.save(folder).name == "debias.json"
    loaded = LanguageDebias.load(folder)
    assert loaded.digest == debias.digest and loaded.description() == debias.description()
    vectors = embeddings["query"]["zh"]
    assert np.array_equal(loaded.apply(vectors, language="zh", role="query"),
                          debias.apply(vectors, language="zh", role="query"))
    assert LanguageDebias.load(folder / "debias.json").digest == debias.digest


def test_the_digest_names_content_and_provenance():
    embeddings = random_embeddings(0)
    one, two = fit(embeddings, "lsar", 2), fit(embeddings, "lsar", 2)
    assert one.digest == two.digest and len(one.digest) == 64
    assert fit(embeddings, "lsar", 1).digest != one.digest
    other = fit_embeddings(embeddings, method="lsar", rank=2, normalize=False, source=FitSource("other", "1" * 64),
                           model=MODEL)
    assert other.digest != one.digest


@pytest.mark.parametrize(("method", "languages", "rank"), [("lsar", 3, 2), ("lsar", 2, 1), ("lir", 3, 1),
                                                          ("center", 3, None)])
def test_default_ranks(method, languages, rank):
    langs = tuple(f"l{i}" for i in range(languages))
    assert fit(random_embeddings(0, languages=langs), method).rank == rank


def test_the_record_describes_itself():
    debias = fit(random_embeddings(0, rows=5), "lir", 2)
    assert debias.describe() == "lir (rank 2) fitted on toy (3 languages, 30 texts) with toy-model"
    assert debias.source.texts == {"query": {"en": 5, "de": 5, "zh": 5}, "passage": {"en": 5, "de": 5, "zh": 5}}
    summary = debias.summary()
    assert summary["method"] == "lir" and summary["rank"] == 2 and summary["digest"] == debias.digest
    assert summary["fitted_on"]["texts"] == 30 and summary["fitted_on"]["languages"] == ["en", "de", "zh"]
    assert debias.needs_language and not fit(random_embeddings(0), "lsar", 1).needs_language


# ------------------------------------------------------------------------------------------------ errors


@pytest.mark.parametrize("method", ["center", "lir"])
def test_a_language_that_was_not_fitted_is_one_usage_error(method):
    debias = fit(random_embeddings(0), method, None if method == "center" else 1)
    with pytest.raises(UsageError, match=r"language 'fr' was not fitted .* \(fitted: en, de, zh\)"):
        debias.apply(np.zeros((1, 8)), language="fr", role="query")
    with pytest.raises(UsageError, match="needs the language"):
        debias.apply(np.zeros((1, 8)), role="query")
    fit(random_embeddings(0), "lsar", 1).check_languages(["fr"])  # lsar takes any language


@pytest.mark.parametrize(("call", "message"), [
    (lambda d: d.apply(np.zeros((2, 5)), role="query"), "fitted on 8-dimensional embeddings but got shape"),
    (lambda d: d.apply(np.zeros((2, 8)), role="document"), "role must be one of query, passage"),
])
def test_bad_arguments_to_apply(call, message):
    with pytest.raises(UsageError, match=message):
        call(fit(random_embeddings(0), "lsar", 1))


@pytest.mark.parametrize(("method", "rank", "languages", "message"), [
    ("center", 2, ("en", "de"), "center removes no directions"),
    ("lsar", 3, ("en", "de"), "lsar rank 3 is more than the 2 directions"),
    ("lsar", 1, ("en",), "at least two languages"),
    ("lir", 0, ("en", "de"), "at least 1"),
    ("lir", 8, ("en", "de"), "from 1 to 7"),
    ("lir", 10, ("en", "de"), "from 1 to 7"),
    ("pca", None, ("en", "de"), "method must be one of center, lir, lsar"),
])
def test_fitting_refuses_impossible_settings(method, rank, languages, message):
    with pytest.raises(UsageError, match=message):
        fit(random_embeddings(0, languages=languages), method, rank)


def test_lir_needs_more_texts_than_its_rank():
    with pytest.raises(UsageError, match="lir rank 4 is more than the 3 directions of the 3 query texts in en"):
        fit(random_embeddings(0, rows=3), "lir", 4)


def test_fitting_needs_both_roles_and_texts_in_every_language():
    embeddings = random_embeddings(0)
    with pytest.raises(UsageError, match="exactly the roles query, passage"):
        fit({"query": embeddings["query"]}, "center")
    embeddings["passage"]["de"] = np.zeros((0, 8))
    with pytest.raises(UsageError, match="no passage texts to fit for language 'de'"):
        fit(embeddings, "center")


def test_projection_is_for_lsar_only():
    with pytest.raises(UsageError, match="center depends on the language of each text"):
        fit(random_embeddings(0), "center").projection


def test_a_record_with_the_wrong_shapes_is_refused():
    good = fit(random_embeddings(0), "lsar", 2)
    with pytest.raises(UsageError, match=r"basis must be a finite array of shape \(8, 2\)"):
        LanguageDebias("lsar", 2, good.means, good.source, good.model, basis=np.zeros((8, 3)))
    with pytest.raises(UsageError, match="basis is for lsar only"):
        LanguageDebias("center", None, good.means, good.source, good.model, basis=good.basis)
    nan = {r: {lang: np.full(8, np.nan) for lang in good.languages} for r in ROLES}
    with pytest.raises(UsageError, match="means"):
        LanguageDebias("center", None, nan, good.source, good.model)
