"""hybrid_plugin.debias.module: LSAR as a stock sentence-transformers Dense layer -- the saved folder loads with a
plain ``SentenceTransformer(folder)``, its ``encode`` equals ``apply`` of the plain model's embeddings, and the
transformer trains through the frozen projection."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hybrid_plugin.debias.fitting import fit_debias
from hybrid_plugin.debias.module import (
    DEBIAS_FOLDER,
    freeze_projections,
    projection_module,
    projection_modules,
    with_projection,
)
from hybrid_plugin.debias.transform import LanguageDebias
from hybrid_plugin.errors import UsageError
from hybrid_plugin.evaluation.encoding import encode_texts
from hybrid_plugin.files import MARKER


@pytest.fixture(scope="module")
def texts(eval_slice):
    return {"query": [t for lang in eval_slice.languages for t in list(eval_slice.questions[lang].values())[:4]],
            "passage": [c.text for lang in eval_slice.languages for c in eval_slice.candidates[lang][:4]]}


def assert_encode_equals_apply(plain, projected, debias, texts):
    for role, prompt in (("query", "query: "), ("passage", "passage: ")):
        expected = debias.apply(encode_texts(plain, texts[role], prompt=prompt, show_progress=False), role=role)
        got = projected.encode(texts[role], prompt=prompt, convert_to_numpy=True)
        np.testing.assert_allclose(got, expected, atol=1e-5)


@pytest.mark.parametrize("normalize_module", [True, False])
def test_the_saved_folder_loads_plainly_and_encodes_like_apply(tiny_model_builder, tmp_path, fit_slice, texts,
                                                              normalize_module, one_torch_thread):
    from sentence_transformers import SentenceTransformer

    model_path = tiny_model_builder(tmp_path / "tiny", normalize=normalize_module)
    debias = fit_debias(str(model_path), fit_slice, method="lsar", rank=2, per_language=20, cache=False,
                        show_progress=False)
    assert debias.normalize  # a cosine model: with or without its own Normalize, scored at unit length
    out = tmp_path / "projected"
    with_projection(str(model_path), debias, out=out)
    modules = json.loads((out / "modules.json").read_text())
    assert [m["type"].rsplit(".", 1)[1] for m in modules][-2:] == ["Dense", "Normalize"]
    assert all(m["type"].startswith("sentence_transformers.") for m in modules)  # no trust_remote_code needed
    assert LanguageDebias.load(out / DEBIAS_FOLDER).digest == debias.digest and (out / MARKER).is_file()
    projected = SentenceTransformer(str(out), device="cpu")
    plain = SentenceTransformer(str(model_path), device="cpu")
    assert_encode_equals_apply(plain, projected, debias, texts)
    assert len(projection_modules(projected)) == 1 and not projection_modules(plain)


def test_a_dot_product_model_gets_no_normalize(tiny_model_builder, tmp_path, fit_slice, texts, one_torch_thread):
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize

    plain = SentenceTransformer(str(tiny_model_builder(tmp_path / "tiny", normalize=False)), device="cpu")
    plain.similarity_fn_name = "dot"
    debias = fit_debias(plain, fit_slice, method="lsar", rank=1, per_language=20, cache=False, show_progress=False)
    assert not debias.normalize
    projected = with_projection(plain, debias)
    assert not any(isinstance(m, Normalize) for m in projected) and len(projected) == len(plain) + 1
    assert_encode_equals_apply(plain, projected, debias, texts)


def test_the_transformer_trains_through_the_frozen_projection(tiny_model, tiny_transforms, tmp_path,
                                                              one_torch_thread):
    from datasets import Dataset
    from sentence_transformers import (
        SentenceTransformer,
        SentenceTransformerTrainer,
        SentenceTransformerTrainingArguments,
    )
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    debias = tiny_transforms["lsar"]
    model = with_projection(SentenceTransformer(str(tiny_model), device="cpu"), debias)
    dense = projection_modules(model)[0]
    weight_before = dense.linear.weight.detach().clone()
    transformer_before = {n: p.detach().clone() for n, p in model[0].named_parameters()}
    flowing = []
    dense.linear.register_full_backward_hook(lambda module, grad_in, grad_out: flowing.append(grad_in[0].abs().sum()))
    rows = Dataset.from_dict({"anchor": ["who sat on the mat", "how old is the moon", "wer sitzt", "was ist das"],
                              "positive": ["the cat sat on the mat", "the moon is old", "die katze", "das ist es"]})
    args = SentenceTransformerTrainingArguments(output_dir=str(tmp_path / "run"), per_device_train_batch_size=4,
                                                max_steps=1, learning_rate=1e-2, save_strategy="no",
                                                report_to="none", use_cpu=True, disable_tqdm=True)
    SentenceTransformerTrainer(model=model, args=args, train_dataset=rows,
                               loss=MultipleNegativesRankingLoss(model)).train()
    assert flowing and float(flowing[0]) > 0  # the loss's gradient reached the pooled embeddings through Dense
    assert dense.linear.weight.grad is None and torch_equal(dense.linear.weight, weight_before)
    changed = [n for n, p in model[0].named_parameters() if not torch_equal(p, transformer_before[n])]
    assert len(changed) > 0.5 * len(transformer_before)  # the transformer was updated


def torch_equal(a, b) -> bool:
    import torch

    return bool(torch.equal(a.detach(), b))


def test_a_reloaded_projection_is_trainable_until_frozen(tiny_model, tiny_transforms, tmp_path):
    from sentence_transformers import SentenceTransformer

    with_projection(str(tiny_model), tiny_transforms["lsar"], out=tmp_path / "p")
    reloaded = SentenceTransformer(str(tmp_path / "p"), device="cpu")
    (dense,) = projection_modules(reloaded)
    assert dense.linear.weight.requires_grad
    assert freeze_projections(reloaded) == 1 and not dense.linear.weight.requires_grad
    assert not projection_module(tiny_transforms["lsar"]).linear.weight.requires_grad


def test_pyserini_export_refuses_a_projected_model(tiny_model, tiny_transforms, tmp_path):
    """Pyserini's auto encoder runs AutoModel and pooling only: the export says so rather than drop the map."""
    from hybrid_plugin.pyserini.export import export_model

    with_projection(str(tiny_model), tiny_transforms["lsar"], out=tmp_path / "p")
    with pytest.raises(UsageError, match=r"cannot reproduce this model \(Transformer -> Pooling -> Normalize -> Dense"):
        export_model(str(tmp_path / "p"), tmp_path / "encoder", verify=False)
    assert not (tmp_path / "encoder").exists()


@pytest.mark.parametrize("method", ["center", "lir"])
def test_only_lsar_is_a_module(tiny_model, tiny_transforms, method, tmp_path):
    with pytest.raises(UsageError, match=f"{method} needs each text's language"):
        with_projection(str(tiny_model), tiny_transforms[method], out=tmp_path / "p")
    assert not (tmp_path / "p").exists()
    with pytest.raises(UsageError, match=f"{method} depends on the language"):
        projection_module(tiny_transforms[method])


def test_a_transform_of_another_model_is_refused(tiny_model_builder, tiny_transforms, tmp_path):
    other = tiny_model_builder(tmp_path / "other", seed=1)
    with pytest.raises(UsageError, match=r"fitted on .*tiny-e5 \(digest [0-9a-f]{12}\), not on the model"):
        with_projection(str(other), tiny_transforms["lsar"])
    wide = tiny_model_builder(tmp_path / "wide", hidden=16)
    with pytest.raises(UsageError, match="fitted on 32-dimensional embeddings but the model gives 16"):
        with_projection(str(wide), tiny_transforms["lsar"])


def test_hybrid_training_keeps_a_saved_projection_fixed(tiny_model, tiny_transforms, fit_slice, tmp_path,
                                                        one_torch_thread):
    """``debias --into-model`` then ``train`` on that folder: the transformer learns, the fitted map does not."""
    from sentence_transformers import SentenceTransformer

    from hybrid_plugin.training import TrainingSettings, train

    projected = tmp_path / "projected"
    with_projection(str(tiny_model), tiny_transforms["lsar"], out=projected)
    settings = TrainingSettings(train="mlqa-r", out=tmp_path / "run", model=str(projected), max_steps=1,
                                batch_size=4, device="cpu", lr=1e-2, warmup_ratio=0.0)
    train(settings, qa=fit_slice)
    before, after = SentenceTransformer(str(projected), device="cpu"), SentenceTransformer(str(tmp_path / "run"),
                                                                                           device="cpu")
    (dense_before,), (dense_after,) = projection_modules(before), projection_modules(after)
    assert torch_equal(dense_after.linear.weight, dense_before.linear.weight)
    changed = [n for n, p in after[0].named_parameters() if not torch_equal(p, dict(before[0].named_parameters())[n])]
    assert changed  # the transformer itself was trained
