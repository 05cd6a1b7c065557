"""Published numbers the low-resource study sets beside its own, where the protocol matches, with their sources.

Only numbers read in the cited source are listed; none is derived or remembered:

* **Tatoeba, mean accuracy over all 112 languages** (LASER's test set, nearest neighbour by cosine): LaBSE 83.7 %
  and LASER (Artetxe & Schwenk 2019) 65.5 %, as stated in the abstract of Feng et al., *Language-agnostic BERT
  Sentence Embedding* (ACL 2022; arXiv:2007.01852). The study's number beside them is its untuned base model's
  mean accuracy (both directions averaged, :mod:`hybrid_plugin.evaluation.bitext`) -- only when every one of the
  112 languages and all their pairs were evaluated; the quick slice is not comparable and says so. (The abstract
  does not say whether its accuracy averages the two directions.)

Not listed, and why (:data:`NOT_LISTED`): multilingual-E5-small's Tatoeba accuracy: its published figures are
MTEB's, one direction (xx -> eng) per language, so they are set beside the base model's full run language by
language in ``benchmarks/lowres/tatoeba-vs-mteb.md`` (``compare_tatoeba_published.py``, the source pinned there),
not beside this study's both-directions mean; AfriQA's retrieval baselines (Ogundepo et al. 2023,
arXiv:2305.06897) retrieve from the whole English / French Wikipedia, not from the pool of gold passages evaluated
here, so no number of theirs matches this protocol.

Example::

    >>> from hybrid_plugin.lowres.record import GroupRow
    >>> rows = [GroupRow("tatoeba", "base", "base", "accuracy", 1, {}, 0.6)]
    >>> [(p.model, p.ours) for p in published_rows(rows, quick=True)]
    [('LaBSE', None), ('LASER', None)]
"""

from __future__ import annotations

from collections.abc import Sequence

from hybrid_plugin.lowres.record import GroupRow, PublishedRow

__all__ = ["NOT_LISTED", "PUBLISHED", "published_rows"]

_FENG = "Feng et al. 2022, Language-agnostic BERT Sentence Embedding (ACL; arXiv:2007.01852), abstract"
PUBLISHED: tuple[tuple[str, str, str, str, float, str], ...] = (
    ("tatoeba", "LaBSE", "accuracy", "all 112 languages", 0.837, _FENG),
    ("tatoeba", "LASER", "accuracy", "all 112 languages", 0.655, _FENG),
)
"""(set, model, measure, scope, value, source) of each published number used."""
NOT_LISTED: tuple[str, ...] = (
    "multilingual-E5-small on Tatoeba: MTEB's published accuracies are xx->eng only (this study averages both "
    "directions); benchmarks/lowres/tatoeba-vs-mteb.md sets them beside the base model's full run, per language",
    "AfriQA retrieval baselines (Ogundepo et al. 2023, arXiv:2305.06897): retrieval from all of Wikipedia, not from "
    "the pool of gold passages evaluated here; not the same protocol",
)
_ALL_TATOEBA = 112


def published_rows(rows: Sequence[GroupRow], *, quick: bool, languages: int | None = None,
                   whole: bool = False) -> list[PublishedRow]:
    """The published numbers, each with the study's own under the same protocol when it has one.

    Args:
        rows: the summary's group rows (the base model's Tatoeba ``accuracy`` row is the one compared).
        quick: a ``--quick`` study (its slice is never comparable).
        languages: the Tatoeba languages evaluated; whole: whether every pair of each was.
    """
    base = next((r for r in rows if r.set_name == "tatoeba" and r.system == "base" and r.measure == "accuracy"), None)
    comparable = not quick and whole and languages == _ALL_TATOEBA and base is not None
    note = "" if comparable else ("the quick slice (6 of 112 languages, the first pairs) is not this protocol"
                                  if quick else "not every Tatoeba language and pair was evaluated")
    if comparable:
        note = "ours: the untuned base model (multilingual-e5-small), zero-shot"
    return [PublishedRow(set_name, model, measure, scope, value, source,
                         base.overall if comparable and base is not None else None, note)
            for set_name, model, measure, scope, value, source in PUBLISHED]
