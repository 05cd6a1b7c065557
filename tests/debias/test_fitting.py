"""hybrid_plugin.debias.fitting: which texts are drawn (per role and language, stable under the seed), the fit of a
real (tiny) model with its prompts through the embedding cache, and the errors raised before a model is loaded."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hybrid_plugin.debias.fitting import draw_texts, embeddings_unit_length, fit_debias
from hybrid_plugin.debias.transform import LanguageDebias
from hybrid_plugin.errors import UsageError
from hybrid_plugin.evaluation.encoding import encode_texts
from hybrid_plugin.evaluation.pipeline import evaluate

SENTENCES = {"en": ["the cat sat", "the moon is old", "dogs bark", "the cat sat"],
             "de": ["die katze sitzt", "der mond ist alt", "wer ist das"]}


def test_a_collection_gives_its_questions_and_candidate_sentences(fit_slice):
    drawn = draw_texts(fit_slice)
    for lang in fit_slice.languages:
        assert drawn["query"][lang] == list(dict.fromkeys(fit_slice.questions[lang].values()))
        assert drawn["passage"][lang] == list(dict.fromkeys(c.text for c in fit_slice.candidates[lang]))


def test_sentences_are_used_in_both_roles_once_each():
    drawn = draw_texts(SENTENCES, languages=["de", "en"])
    assert drawn["query"] == drawn["passage"] == {"de": SENTENCES["de"], "en": SENTENCES["en"][:3]}


@settings(max_examples=25, deadline=None)
@given(per_language=st.integers(1, 30), seed=st.integers(0, 2**16))
def test_the_draw_is_a_stable_subset_per_language(fit_slice, per_language, seed):
    full = draw_texts(fit_slice)
    drawn = draw_texts(fit_slice, per_language=per_language, seed=seed)
    for role, by_lang in drawn.items():
        for lang, texts in by_lang.items():
            assert len(texts) == min(per_language, len(full[role][lang]))
            positions = [full[role][lang].index(t) for t in texts]
            assert positions == sorted(positions)  # a subset, in the source's order
    again = draw_texts(fit_slice.select_languages(["de"]), per_language=per_language, seed=seed)
    assert again["query"]["de"] == drawn["query"]["de"]  # another language set leaves a language's draw alone


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"per_language": 0}, "per_language must be a positive number of texts"),
    ({"languages": ["fr"]}, "no sentences for language 'fr'; given: en, de"),
    ({"seed": -1}, "seed must be an integer from 0 to 4294967295 but got -1"),
])
def test_draw_errors(kwargs, message):
    with pytest.raises(UsageError, match=message):
        draw_texts(SENTENCES, **kwargs)
    with pytest.raises(UsageError, match="language 'xx' has no query texts"):
        draw_texts({"xx": ["  "]})


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"method": "pca"}, "method must be one of center, lir, lsar"),
    ({"method": "center", "rank": 2}, "center removes no directions"),
    ({"method": "lsar", "rank": 0}, "rank must be a whole number of at least 1"),
    ({"per_language": -1}, "per_language must be a positive number"),
])
def test_fit_refuses_bad_options_before_loading_a_model(kwargs, message):
    with pytest.raises(UsageError, match=message):
        fit_debias("no/such/model", SENTENCES, **kwargs)


def test_fit_encodes_each_role_with_its_prompt(tiny_model, fit_slice, isolated_cache):
    from sentence_transformers import SentenceTransformer

    debias = fit_debias(str(tiny_model), fit_slice, method="center", per_language=15, show_progress=False)
    model = SentenceTransformer(str(tiny_model), device="cpu")
    drawn = draw_texts(fit_slice, per_language=15)
    assert debias.normalize == embeddings_unit_length(model) is True
    for role, prompt in (("query", "query: "), ("passage", "passage: ")):
        for lang in fit_slice.languages:
            vectors = encode_texts(model, drawn[role][lang], prompt=prompt, show_progress=False)
            np.testing.assert_allclose(debias.means[role][lang], vectors.mean(axis=0), atol=1e-6)
    assert debias.model.prompts == {"query": "query: ", "passage": "passage: "}
    assert debias.model.digest is not None and debias.model.path == str(tiny_model.resolve())
    assert (debias.source.dataset, debias.source.checksum) == ("mlqa-r", fit_slice.checksum)
    assert debias.source.per_language == 15 and debias.source.texts["query"]["en"] == len(drawn["query"]["en"])
    # the fit's embeddings are in the cache that evaluate uses for the same collection
    results = evaluate(fit_slice, str(tiny_model), show_progress=False)
    assert results.encoding["from_cache"] == sum(len(t) for by_lang in drawn.values() for t in by_lang.values())


def test_fit_on_sentences_and_on_a_loaded_model(tiny_model, isolated_cache):
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(tiny_model), device="cpu")
    debias = fit_debias(model, SENTENCES, method="lsar", rank=1, name="toy-sentences", show_progress=False)
    assert debias.source.dataset == "toy-sentences" and debias.source.description == "the same sentences in both roles"
    assert debias.model.digest is None and debias.model.prompts["query"] == "query: "
    again = fit_debias(str(tiny_model), SENTENCES, method="lsar", rank=1, name="toy-sentences", show_progress=False)
    assert again.source.checksum == debias.source.checksum  # the sentences' digest
    np.testing.assert_allclose(again.basis @ again.basis.T, debias.basis @ debias.basis.T, atol=1e-5)
    assert isinstance(LanguageDebias.load(again.save(isolated_cache / "d").parent), LanguageDebias)
