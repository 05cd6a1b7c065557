"""One entry point for every source of a parallel QA collection: :func:`load_parallel_qa` (and
:func:`load_tatoeba` for the Tatoeba bitexts, which are not one parallel collection).

It chooses the reader from what it is given -- a registered name, a LAReQA folder, an AfriQA, NTREX-128 or BEIR
folder (by what the folder holds; ``beir:PATH`` names a BEIR folder explicitly), a parallel JSONL file or a folder
written by ``hybrid-plugin prepare`` -- and never from substrings of a path.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from hybrid_plugin.data.afriqa import AFRIQA_NAME, read_afriqa_folder
from hybrid_plugin.data.beir import beir_language_folders, is_beir_folder, read_beir, read_beir_folder
from hybrid_plugin.data.beir_convert import beir_to_parallel_qa
from hybrid_plugin.data.beir_sets import BEIR_SETS, fetch_beir_set
from hybrid_plugin.data.collection import ParallelQA, name_from_path
from hybrid_plugin.data.jsonl import read_parallel_jsonl
from hybrid_plugin.data.lareqa import read_lareqa_folder
from hybrid_plugin.data.languages import dataset_languages
from hybrid_plugin.data.ntrex import NTREX_NAME, read_ntrex_folder
from hybrid_plugin.data.registry import DATASETS, fetch_dataset
from hybrid_plugin.data.tatoeba import TATOEBA_NAME, TATOEBA_POOL, TatoebaSet, read_tatoeba_folder
from hybrid_plugin.errors import UsageError

# The module, not the function: hybrid_plugin.pyserini.prepared imports hybrid_plugin.data.collection, which runs
# hybrid_plugin/data/__init__.py and so this file; when prepared is imported first it is still half-made here.
from hybrid_plugin.pyserini import prepared

__all__ = ["BEIR_PREFIX", "NAMED_COLLECTIONS", "load_parallel_qa", "load_tatoeba"]

_LAREQA = ("xquad-r", "mlqa-r")
_AFRIQA_SPLITS = {AFRIQA_NAME: "test", f"{AFRIQA_NAME}-train": "train", f"{AFRIQA_NAME}-dev": "dev"}
_TATOEBA_PAIR = f"{TATOEBA_NAME}-"
BEIR_PREFIX = "beir:"
"""``beir:PATH`` names a BEIR folder (a folder in BEIR's layout is also recognised without it)."""

NAMED_COLLECTIONS: tuple[str, ...] = (*_LAREQA, *_AFRIQA_SPLITS, NTREX_NAME, f"{_TATOEBA_PAIR}<lang>", TATOEBA_POOL,
                                      *BEIR_SETS)
"""The names :func:`load_parallel_qa` knows (``tatoeba-<lang>``: one Tatoeba language with English;
``tatoeba-pool``: several Tatoeba languages with one English pool, ``languages`` required)."""


def load_parallel_qa(
    name_or_path: str | Path,
    *,
    data: str | Path | None = None,
    languages: Iterable[str] | None = None,
    split: str = "test",
) -> ParallelQA:
    """Load a parallel QA collection by name or path.

    Args:
        name_or_path: a named set, downloaded from its public release (checksums verified, cached):
            ``"xquad-r"``, ``"mlqa-r"`` (LAReQA); ``"afriqa"`` (its test split), ``"afriqa-train"``,
            ``"afriqa-dev"`` (:mod:`~hybrid_plugin.data.afriqa`); ``"ntrex-128"`` (:mod:`~hybrid_plugin.data.ntrex`);
            ``"tatoeba-<lang>"``, one Tatoeba language with English (``"tatoeba-de"``,
            :meth:`~hybrid_plugin.data.tatoeba.TatoebaSet.pair`); ``"tatoeba-pool"``, the Tatoeba languages of
            ``languages`` around one deduplicated English pool (:meth:`~hybrid_plugin.data.tatoeba.TatoebaSet.pool`;
            ``en`` may be among them, placed where it is given); the BEIR sets of
            :data:`~hybrid_plugin.data.beir_sets.BEIR_SETS` (``"scifact"``, ``"nfcorpus"``; their judgments
            must fit a parallel collection, else evaluate them with ``evaluate_beir``). Or a path: a
            LAReQA-style folder, an AfriQA or NTREX-128 folder (one holding ``gold_passages/``, or ``NTREX-128/``
            and ``DOCUMENT_IDS.tsv``), a parallel JSONL file, a folder written by ``hybrid-plugin prepare``
            (``topics/``, ``qrels/``, ``corpus/``), or a BEIR folder (``corpus.jsonl``, ``queries.jsonl``,
            ``qrels/``; ``beir:PATH`` says so explicitly) whose judgments fit a parallel collection
            (:mod:`~hybrid_plugin.data.beir_convert`).
        data: for a named set, a local copy of its files instead of downloading (``../shared/data/<name>``).
        languages: restrict to these languages (the plugin's codes, :mod:`~hybrid_plugin.data.languages`), in
            this order. AfriQA and NTREX-128 read only these.
        split: the qrels split of a BEIR folder (``qrels/<split>.tsv``). Defaults to ``"test"``.

    Raises:
        UsageError: an unknown name or language, ``data`` with a path, ``tatoeba-pool`` without
        ``languages``. DataError: a missing or malformed file, a
        local copy that is not the published one. DownloadError: a download that failed its checksum.

    Example::

        qa = load_parallel_qa("mlqa-r", data="../shared/data/mlqa-r")
        len(qa.qids), qa.num_questions(), qa.num_candidates()   # (1148, 4199, 20534)
        load_parallel_qa("ntrex-128", data="../shared/data/ntrex-128", languages=["en", "yo"]).languages
    """
    key = str(name_or_path)
    if key in BEIR_SETS:
        folder = fetch_beir_set(key) if data is None else Path(data)
        qa = beir_to_parallel_qa(read_beir_folder(folder, split=split, name=key))
        return qa if languages is None else qa.select_languages(languages)
    named = _load_named(key, data, languages)
    if named is not None:
        return named
    if data is not None:
        raise UsageError(f"--data is for the named sets ({', '.join(NAMED_COLLECTIONS)}); {key!r} is a path already")
    path = Path(key.removeprefix(BEIR_PREFIX))
    if key.startswith(BEIR_PREFIX) or is_beir_folder(path) or beir_language_folders(path):
        qa = beir_to_parallel_qa(read_beir(path, split=split))
        return qa if languages is None else qa.select_languages(languages)
    if _is_afriqa(path):
        return read_afriqa_folder(path, languages, name=name_from_path(path.name))
    if _is_ntrex(path):
        return read_ntrex_folder(path, languages, name=name_from_path(path.name))
    qa = _read_path(path)
    return qa if languages is None else qa.select_languages(languages)


def _load_named(key: str, data: str | Path | None, languages: Iterable[str] | None) -> ParallelQA | None:
    """The named collection ``key`` (None when ``key`` is not a name)."""
    if key in _LAREQA:
        qa = read_lareqa_folder(fetch_dataset(key, data=data), DATASETS[key].languages, name=key)
    elif key in _AFRIQA_SPLITS:
        return read_afriqa_folder(fetch_dataset(AFRIQA_NAME, data=data), languages, splits=(_AFRIQA_SPLITS[key],),
                                  name=key)
    elif key == NTREX_NAME:
        return read_ntrex_folder(fetch_dataset(NTREX_NAME, data=data), languages)
    elif key == TATOEBA_NAME:
        raise UsageError("tatoeba is one bitext with English per language, not one parallel collection: load a "
                         "language with English as 'tatoeba-<lang>' (tatoeba-de), or all with load_tatoeba()")
    elif key == TATOEBA_POOL:
        if languages is None:
            raise UsageError(f"{TATOEBA_POOL} needs --languages (the Tatoeba languages around its English pool, "
                             "e.g. de,sw)")
        chosen = tuple(languages)
        pooled = [lang for lang in chosen if lang != "en"]
        qa = load_tatoeba(data=data, languages=pooled).pool(pooled)
        return qa.select_languages(chosen) if "en" in chosen else qa
    elif key.startswith(_TATOEBA_PAIR) and key[len(_TATOEBA_PAIR):] in dataset_languages(TATOEBA_NAME):
        language = key[len(_TATOEBA_PAIR):]
        qa = load_tatoeba(data=data, languages=[language]).pair(language)
    else:
        return None
    return qa if languages is None else qa.select_languages(languages)


def load_tatoeba(*, data: str | Path | None = None, languages: Iterable[str] | None = None) -> TatoebaSet:
    """The Tatoeba test set (:mod:`~hybrid_plugin.data.tatoeba`), downloaded from LASER's release (checksums
    verified, cached) or read from a local copy.

    Args:
        data: a local copy of the release's files instead of downloading (``../shared/data/tatoeba``).
        languages: the plugin's codes to read (default: all 112).

    Example::

        tatoeba = load_tatoeba(data="../shared/data/tatoeba", languages=["de", "yo"])
        tatoeba.pair("de").languages      # ('de', 'en')
    """
    return read_tatoeba_folder(fetch_dataset(TATOEBA_NAME, data=data), languages)


def _is_afriqa(path: Path) -> bool:
    return path.is_dir() and (path / "gold_passages").is_dir()


def _is_ntrex(path: Path) -> bool:
    return path.is_dir() and (path / "NTREX-128").is_dir() and (path / "DOCUMENT_IDS.tsv").is_file()


def _read_path(path: Path) -> ParallelQA:
    if path.is_file() and path.suffix == ".jsonl":
        return read_parallel_jsonl(path)
    if path.is_dir() and (path / "topics").is_dir() and (path / "qrels").is_dir():
        return prepared.read_prepared(path)
    if path.is_dir():
        return read_lareqa_folder(path)
    raise UsageError(f"unknown dataset {str(path)!r}: expected one of {', '.join(NAMED_COLLECTIONS)}, a "
                     "LAReQA-style, AfriQA, NTREX-128 or BEIR folder, a parallel .jsonl file or a folder written by "
                     "'hybrid-plugin prepare'")
