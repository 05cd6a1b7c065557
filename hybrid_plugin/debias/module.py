"""LSAR as a sentence-transformers module: its one linear map ``I - B B^T`` as a stock ``Dense`` layer (no bias,
identity activation), followed by ``Normalize`` when the model's embeddings are unit length.

* :func:`projection_module` -- the ``Dense`` layer of a fitted ``lsar`` transform, its weight frozen;
* :func:`with_projection` -- a copy of a model whose ``encode()`` applies the map (and, with ``out``, its folder,
  which a plain ``SentenceTransformer(folder)`` loads: the layer is sentence-transformers' own ``Dense``, so no
  ``trust_remote_code`` is needed);
* :func:`projection_modules` / :func:`freeze_projections` -- finding such layers in a loaded model (a reloaded
  ``Dense`` is trainable again) and keeping them fixed while the transformer trains through them.

``center`` and ``lir`` depend on each text's language, which ``encode()`` does not know: they are no module.
Nor can Pyserini's ``--encoder-class auto`` apply the map (its ``AutoQueryEncoder`` runs ``AutoModel``, pooling and
``--l2-norm`` only); reproduce a debiased run with the Faiss index and pre-encoded queries ``evaluate --debias``
writes (see ``docs/debias.md``).

Example::

    from hybrid_plugin.debias import LanguageDebias, with_projection

    debias = LanguageDebias.load("debias-lsar")
    model = with_projection(None, debias, out="e5-small-lsar")   # the default model, projected
    model.encode(["query: how old is the moon"], normalize_embeddings=False)   # unit length, bias removed
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from hybrid_plugin.debias.transform import LanguageDebias
from hybrid_plugin.errors import UsageError
from hybrid_plugin.evaluation.embedding_cache import model_identity
from hybrid_plugin.files import check_output, claim_output, staged_folder
from hybrid_plugin.models.loading import load_model, resolve_model

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Dense

__all__ = ["DEBIAS_FOLDER", "freeze_projections", "projection_module", "projection_modules", "with_projection"]

DEBIAS_FOLDER = "debias"
"""The subfolder of a projected model's folder that holds the transform it applies."""

_TOLERANCE = 1e-4


def projection_module(debias: LanguageDebias) -> Dense:
    """The ``Dense`` layer (``dim -> dim``, no bias, identity activation) of an ``lsar`` transform's map; its weight
    does not train (``requires_grad`` False), gradients still flow through it.

    Raises:
        UsageError: the transform is not ``lsar``.

    Example::

        dense = projection_module(LanguageDebias.load("debias-lsar"))   # Dense(384 -> 384), frozen
        model.append(dense)
    """
    import torch  # heavy
    from sentence_transformers.sentence_transformer.modules import Dense

    weight = torch.tensor(debias.projection, dtype=torch.float32)  # symmetric: Linear's x W^T is x P
    dense = Dense(debias.dim, debias.dim, bias=False, activation_function=torch.nn.Identity(), init_weight=weight)
    dense.linear.weight.requires_grad_(False)
    return dense


def projection_modules(model: SentenceTransformer) -> list[Dense]:
    """The layers of ``model`` that are orthogonal projections (a square ``Dense`` without bias or activation
    whose weight is symmetric and idempotent): those :func:`with_projection` added.

    Example::

        projection_modules(SentenceTransformer("e5-small-lsar"))   # [Dense(...)]
    """
    import torch  # heavy
    from sentence_transformers.sentence_transformer.modules import Dense

    found = []
    for module in model:
        if not (isinstance(module, Dense) and not module.bias and module.in_features == module.out_features
                and isinstance(module.activation_function, torch.nn.Identity)):
            continue
        weight = module.linear.weight.detach().double().cpu().numpy()
        if np.allclose(weight, weight.T, atol=_TOLERANCE) and np.allclose(weight @ weight, weight, atol=_TOLERANCE):
            found.append(module)
    return found


def freeze_projections(model: SentenceTransformer) -> int:
    """Keep the projection layers of ``model`` fixed in training (a folder reloads them trainable); return how
    many were found.

    Example::

        model = SentenceTransformer("e5-small-lsar")
        freeze_projections(model)   # 1; then train the model as usual
    """
    layers = projection_modules(model)
    for layer in layers:
        layer.linear.weight.requires_grad_(False)
    return len(layers)


def _check_model(model: SentenceTransformer, path: str | None, debias: LanguageDebias) -> None:
    dim = model.get_embedding_dimension()
    if dim != debias.dim:
        raise UsageError(f"the transform was fitted on {debias.dim}-dimensional embeddings but the model gives {dim}")
    if path is not None and debias.model.digest is not None:
        digest = model_identity(path, prompts=debias.model.prompts).digest
        if digest is not None and digest != debias.model.digest:
            raise UsageError(f"the transform was fitted on {debias.model.name} (digest {debias.model.digest[:12]}), "
                             f"not on the model {path} (digest {digest[:12]}); fit it for this model")


def with_projection(model: str | os.PathLike[str] | SentenceTransformer | None, debias: LanguageDebias, *,
                    out: str | os.PathLike[str] | None = None, overwrite: bool = False,
                    device: str | None = None) -> SentenceTransformer:
    """A copy of ``model`` whose ``encode()`` applies an ``lsar`` transform: ``[..., Dense(P), Normalize]``.

    ``model.encode(texts, prompt=...)`` then equals ``debias.apply(plain embeddings, role=...)`` (the plain
    embeddings as the plugin scores them: unit length for a cosine model). The projection is frozen; the
    transformer still trains through it.

    Args:
        model (str | SentenceTransformer | None): a model folder or hub id, a loaded model (not changed), or
            None for the default model.
        debias (LanguageDebias): an ``lsar`` transform fitted on this model.
        out (str | Path, optional): also save the model there (a normal sentence-transformers folder, plus the
            transform in ``out/debias/``); checked before the model is loaded.
        overwrite (bool, default False): replace an earlier output of the plugin in ``out``.
        device (str, optional): torch device for a model loaded here.

    Returns:
        SentenceTransformer: the projected copy.

    Raises:
        UsageError: the transform is not ``lsar``; it was fitted on another model (another digest or
            dimension); ``out`` may not be written.

    Example::

        projected = with_projection(None, LanguageDebias.load("debias-lsar"), out="e5-small-lsar")
        projected.encode(["query: who wrote it"])   # == debias.apply(plain embedding, role="query")
    """
    if debias.method != "lsar":
        raise UsageError(f"only lsar is one linear map for every text; {debias.method} needs each text's language, "
                         "which a model's encode() does not know (apply it with evaluate --debias)")
    if out is not None:
        check_output(Path(out), overwrite=overwrite, flag="--into-model")
    path = None
    if model is None or isinstance(model, (str, os.PathLike)):
        path = resolve_model(None if model is None else os.fspath(model))
        model = load_model(path, device=device)
    _check_model(model, path, debias)
    from sentence_transformers.sentence_transformer.modules import Normalize  # heavy

    projected = copy.deepcopy(model)
    projected.append(projection_module(debias).to(projected.device))
    if debias.normalize:
        projected.append(Normalize())
    if out is not None:
        with staged_folder(Path(out), overwrite=overwrite) as staged:
            projected.save(str(staged))
            debias.save(staged / DEBIAS_FOLDER)
            claim_output(staged, "debias")
    return projected
