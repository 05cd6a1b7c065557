"""A fitted transform in an evaluation: read it, check that it belongs to the model and the collection
evaluated, apply it to the embeddings (before scoring and before the Faiss index and pre-encoded queries are
written), and what the results record says about it.

What does *not* live here: the evaluation itself (:func:`hybrid_plugin.evaluation.pipeline.evaluate`, which
calls these), the transform (:mod:`hybrid_plugin.debias.transform`).

Example::

    debias = read_debias("debias-lsar")
    applied = prepare_debias(debias, qa, model=model, model_path=path, model_digest=digest, prompts=prompts)
    encoded = apply_to_encoded(applied.transform, encoded)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hybrid_plugin.data.collection import ParallelQA
from hybrid_plugin.debias.module import DEBIAS_FOLDER
from hybrid_plugin.debias.storage import DEBIAS_FILE
from hybrid_plugin.debias.transform import LanguageDebias
from hybrid_plugin.errors import UsageError
from hybrid_plugin.evaluation.encoding import EncodedQA

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

__all__ = ["AppliedDebias", "apply_to_encoded", "prepare_debias", "read_debias"]


@dataclass(frozen=True)
class AppliedDebias:
    """A transform checked for one evaluation, and whether it was fitted on the evaluated collection itself."""

    transform: LanguageDebias
    fitted_on_evaluated_data: bool = False

    def record(self) -> dict[str, Any]:
        """``results.settings["debias"]``: method, rank, digest, what it was fitted on."""
        return {**self.transform.summary(), "fitted_on_evaluated_data": self.fitted_on_evaluated_data,
                "folder": DEBIAS_FOLDER}

    def write(self, folder: Path) -> dict[str, str]:
        """Save the transform into ``folder/debias``; return the ``results.files`` entry."""
        self.transform.save(folder / DEBIAS_FOLDER)
        return {"debias": DEBIAS_FOLDER}


def read_debias(debias: LanguageDebias | str | os.PathLike[str] | None) -> LanguageDebias | None:
    """A transform, or the one saved in a folder (:meth:`LanguageDebias.load`); None passes.

    Raises:
        DataError: the folder's files are missing or malformed.
        UsageError: ``debias`` is neither a transform nor a path.

    Example::

        read_debias("debias-lsar").method   # 'lsar'
    """
    if debias is None or isinstance(debias, LanguageDebias):
        return debias
    if not isinstance(debias, (str, os.PathLike)):
        raise UsageError(f"debias must be a LanguageDebias or a folder but got {type(debias).__name__}")
    return LanguageDebias.load(debias)


def prepare_debias(debias: LanguageDebias | None, qa: ParallelQA, *, model: SentenceTransformer,
                   model_path: str | None, model_digest: str | None, prompts: Mapping[str, str],
                   allow_same_data: bool = False) -> AppliedDebias | None:
    """Check a transform against the evaluation before anything is encoded.

    Args:
        debias (LanguageDebias, optional): the transform (None: nothing to check).
        qa (ParallelQA): the collection evaluated.
        model (SentenceTransformer): the model evaluated; model_path, model_digest: its folder and content digest
            (None when unknown: then only the dimension and prompts are compared).
        prompts (dict): the prompts the evaluation encodes with.
        allow_same_data (bool, default False): allow a transform fitted on the evaluated collection itself (an
            oracle, recorded as such).

    Raises:
        UsageError: a language the transform needs but did not fit; a transform fitted on another model (digest,
            dimension or prompts) or on the evaluated collection; a model that applies the projection already.

    Returns:
        AppliedDebias | None: the transform and whether it was fitted on the evaluated texts (None: no transform).

    Example::

        applied = prepare_debias(debias, xquad, model=model, model_path=path, model_digest=digest,
                                 prompts={"query": "query: ", "passage": "passage: "})
    """
    if debias is None:
        return None
    if model_path is not None and (Path(model_path) / DEBIAS_FOLDER / DEBIAS_FILE).is_file():
        raise UsageError(f"the model {model_path} applies a projection already ({DEBIAS_FOLDER}/ in its folder); "
                         "evaluate it without --debias")
    debias.check_languages(qa.languages)
    fitted = debias.model
    dim = model.get_embedding_dimension()
    if dim != debias.dim:
        raise UsageError(f"the transform was fitted on {debias.dim}-dimensional embeddings ({fitted.name}) but the "
                         f"model evaluated gives {dim}")
    if model_digest is not None and fitted.digest is not None and model_digest != fitted.digest:
        raise UsageError(f"the transform was fitted on {fitted.name} (digest {fitted.digest[:12]}), not on the model "
                         f"evaluated (digest {model_digest[:12]}); fit one for it with hybrid-plugin debias --model")
    if dict(prompts) != dict(fitted.prompts):
        raise UsageError(f"the transform was fitted with the prompts {dict(fitted.prompts)} but the evaluation "
                         f"encodes with {dict(prompts)}")
    same = debias.source.overlaps(qa)
    if same and not allow_same_data:
        raise UsageError(f"the transform was fitted on {debias.source.dataset}, the texts evaluated; fit it on "
                         "other text (a training set, or sentences such as ntrex-128), or pass --allow-same-data to "
                         "measure this oracle")
    return AppliedDebias(debias, fitted_on_evaluated_data=same)


def apply_to_encoded(debias: LanguageDebias, encoded: EncodedQA) -> EncodedQA:
    """The embeddings with the transform applied: each language's queries in the query role, its passages in
    the passage role (the encoding statistics are kept).

    Example::

        debiased = apply_to_encoded(debias, encode_parallel_qa(model, qa, prompts=prompts))
    """
    return EncodedQA(
        queries={lang: debias.apply(v, language=lang, role="query") for lang, v in encoded.queries.items()},
        passages={lang: debias.apply(v, language=lang, role="passage") for lang, v in encoded.passages.items()},
        stats=encoded.stats)
