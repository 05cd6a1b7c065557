"""Embeddings of a parallel QA collection: encode every distinct text once, cache them on disk, write Faiss indexes.

* :func:`model_identity` names a model by its content (a local folder: a digest of its files; a hub id: the
  commit of its cached snapshot), so that cached embeddings are reused exactly when the weights are the same.
* :class:`EmbeddingCache` stores embeddings under ``<cache>/embeddings/<model key>/<dataset checksum>/``, one
  entry (``<digest>.keys.npy``, ``<digest>.vectors.npy``, ``<digest>.json``) per encoding run that had something
  new to encode. Rows are addressed by a digest of (role, prompt, text), so a ``--limit`` run and a full run of
  the same model and data share their embeddings.
* :func:`encode_parallel_qa` encodes each distinct question text once (a text shared by several languages or
  questions is encoded once) and each distinct candidate text once, and returns them per language.
* :func:`write_faiss_index` writes a folder that ``pyserini.search.faiss`` opens: ``index`` (a
  ``faiss.IndexFlatIP``) and ``docid`` (one docid per line, in row order).

Example::

    from hybrid_plugin.data import load_parallel_qa
    from hybrid_plugin.embeddings import EmbeddingCache, encode_parallel_qa, model_identity
    from hybrid_plugin.models import load_model, model_prompts, resolve_model

    qa = load_parallel_qa("xquad-r", data="../shared/data/xquad-r").limit(20)
    path = resolve_model(None)
    model = load_model(path)
    identity = model_identity(path, prompts=model_prompts(model))
    encoded = encode_parallel_qa(model, qa, prompts=model_prompts(model),
                                 cache=EmbeddingCache.for_model(identity, qa.checksum))
    encoded.queries["de"].shape, encoded.stats.encoded   # ((20, 384), 20 * 11 + pool sizes)
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from hybrid_plugin.data import ParallelQA
from hybrid_plugin.errors import DataError, UsageError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

__all__ = [
    "EmbeddingCache",
    "EncodedQA",
    "EncodingStats",
    "ModelIdentity",
    "encode_parallel_qa",
    "encode_texts",
    "model_identity",
    "text_digests",
    "write_encoded_queries",
    "write_faiss_index",
]

logger = logging.getLogger(__name__)

Role = Literal["query", "passage"]
_DIGEST_BYTES = 16
_SKIP_FILES = {"README.md", ".gitattributes"}
_CACHE_FORMAT = 1


# ----------------------------------------------------------------------------------------------- model identity


@dataclass(frozen=True)
class ModelIdentity:
    """What identifies a model's embeddings.

    Attributes:
        name: the name given by the user (or the default model's name).
        path: the local folder it was loaded from, if any.
        digest: a content digest (local folder) or ``name@commit`` (hub snapshot); None when neither is known,
            in which case embeddings are not cached.
        prompts: the query and passage prefixes used when encoding.
    """

    name: str
    path: str | None
    digest: str | None
    prompts: Mapping[str, str] = field(default_factory=dict)

    @property
    def key(self) -> str | None:
        """A short stable folder name for the cache (None: not cacheable)."""
        if self.digest is None:
            return None
        blob = json.dumps({"digest": self.digest, "prompts": dict(sorted(self.prompts.items())),
                           "format": _CACHE_FORMAT}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:24]


def _hash_file(path: Path, memo: dict[str, Any]) -> str:
    stat = path.stat()
    tag = f"{stat.st_size}:{stat.st_mtime_ns}"
    entry = memo.get(str(path))
    if isinstance(entry, dict) and entry.get("stat") == tag:
        return entry["sha256"]
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 22), b""):
            digest.update(chunk)
    memo[str(path)] = {"stat": tag, "sha256": digest.hexdigest()}
    return digest.hexdigest()


def _folder_digest(folder: Path, memo_path: Path | None) -> str:
    """SHA-256 over (relative path, file SHA-256) of every file of a model folder; file hashes are memoised by
    (size, mtime) so that a 500 MB weights file is hashed once, not on every run."""
    memo: dict[str, Any] = {}
    if memo_path is not None and memo_path.is_file():
        try:
            memo = json.loads(memo_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            memo = {}
    before = dict(memo)
    digest = hashlib.sha256()
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name not in _SKIP_FILES
                   and not any(part.startswith(".") for part in p.relative_to(folder).parts))
    if not files:
        raise DataError("model folder holds no files", folder)
    for path in files:
        digest.update(f"{path.relative_to(folder).as_posix()}\t{_hash_file(path, memo)}\n".encode())
    if memo_path is not None and memo != before:
        try:
            memo_path.parent.mkdir(parents=True, exist_ok=True)
            tmp = memo_path.with_name(f".{memo_path.name}.{uuid.uuid4().hex}.tmp")
            tmp.write_text(json.dumps(memo, indent=0, sort_keys=True), encoding="utf-8")
            os.replace(tmp, memo_path)
        except OSError as exc:  # a read-only cache only costs speed
            logger.debug("could not save file hashes to %s: %s", memo_path, exc)
    return digest.hexdigest()


def _hub_snapshot(name: str) -> Path | None:
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(name, local_files_only=True))
    except Exception:  # noqa: BLE001 - any failure means "no cached snapshot": then we do not cache
        return None


def model_identity(name_or_path: str, *, name: str | None = None, prompts: Mapping[str, str] | None = None,
                   cache_root: str | Path | None = None) -> ModelIdentity:
    """Identify a model for the embedding cache.

    Args:
        name_or_path (str): a local model folder or a hub id (as returned by ``models.resolve_model``).
        name (str, optional): the name to report (default: ``name_or_path``).
        prompts (dict, optional): the query / passage prefixes used; part of the cache key.
        cache_root (str | Path, optional): the plugin's cache folder (default: ``models.cache_dir()``); file
            hashes are memoised there.

    Returns:
        ModelIdentity: ``digest`` is a SHA-256 over the folder's files, or ``hub-id@commit`` for a cached hub
        snapshot, or None (not cacheable).
    """
    from hybrid_plugin.models import cache_dir

    root = Path(cache_root) if cache_root is not None else cache_dir()
    path = Path(name_or_path)
    if path.is_dir():
        digest = _folder_digest(path.resolve(), root / "embeddings" / "file-hashes.json")
        return ModelIdentity(name or str(name_or_path), str(path.resolve()), digest, dict(prompts or {}))
    snapshot = _hub_snapshot(str(name_or_path))
    if snapshot is not None:
        return ModelIdentity(name or str(name_or_path), str(snapshot), f"{name_or_path}@{snapshot.name}",
                             dict(prompts or {}))
    logger.info("model %s has no local folder or cached hub snapshot: its embeddings are not cached", name_or_path)
    return ModelIdentity(name or str(name_or_path), None, None, dict(prompts or {}))


# ---------------------------------------------------------------------------------------------------- digests


def text_digests(texts: Sequence[str], role: Role, prompt: str) -> np.ndarray:
    """16-byte BLAKE2b digests of ``role \\0 prompt \\0 text``, as an ``S16`` array (the cache's row keys)."""
    head = f"{role}\0{prompt}\0".encode()
    out = np.empty(len(texts), dtype=f"S{_DIGEST_BYTES}")
    for i, text in enumerate(texts):
        out[i] = hashlib.blake2b(head + text.encode("utf-8"), digest_size=_DIGEST_BYTES).digest()
    return out


# ------------------------------------------------------------------------------------------------------ cache


class EmbeddingCache:
    """Embeddings of one model on one dataset, on disk.

    Layout: ``<root>/<model key>/<dataset checksum[:16]>/<entry>.{keys.npy,vectors.npy,json}``; the JSON is
    written last and marks a complete entry. Entries are never modified, only added, so concurrent runs are
    safe (at worst both encode the same texts).

    Args:
        folder (str | Path): the ``<root>/<model key>/<dataset>`` folder.
        meta (dict, optional): facts recorded with every new entry (model name, dataset, ...).

    Example::

        cache = EmbeddingCache.for_model(model_identity(path), qa.checksum)
        found, vectors = cache.lookup(text_digests(["Wer?"], "query", "query: "))
    """

    def __init__(self, folder: str | Path, meta: Mapping[str, Any] | None = None) -> None:
        self.folder = Path(folder)
        self.meta = dict(meta or {})
        self._keys: np.ndarray | None = None
        self._where: list[tuple[Path, int]] = []

    @classmethod
    def for_model(cls, identity: ModelIdentity, dataset_checksum: str, *,
                  root: str | Path | None = None) -> EmbeddingCache | None:
        """The cache of ``identity`` on the data ``dataset_checksum``; None when the model is not cacheable."""
        if identity.key is None:
            return None
        if root is None:
            from hybrid_plugin.models import cache_dir

            root = cache_dir() / "embeddings"
        meta = {"model": identity.name, "model_path": identity.path, "model_digest": identity.digest,
                "prompts": dict(identity.prompts), "dataset_checksum": dataset_checksum}
        return cls(Path(root) / identity.key / dataset_checksum[:16], meta)

    def _entries(self) -> list[Path]:
        if not self.folder.is_dir():
            return []
        return sorted(p.with_suffix("") for p in self.folder.glob("*.json"))

    def _load_keys(self) -> None:
        keys, where = [], []
        for stem in self._entries():
            try:
                k = np.load(f"{stem}.keys.npy", allow_pickle=False)
            except (OSError, ValueError) as exc:
                logger.warning("ignoring unreadable cache entry %s: %s", stem, exc)
                continue
            keys.append(k)
            where.extend((stem, i) for i in range(len(k)))
        self._keys = np.concatenate(keys) if keys else np.empty(0, dtype=f"S{_DIGEST_BYTES}")
        self._where = where

    def lookup(self, digests: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Find cached rows.

        Args:
            digests: ``S16`` row keys (see :func:`text_digests`).

        Returns:
            ``(found, vectors)``: a boolean mask over ``digests`` and the vectors of the found ones, in order
            (None when nothing was found).
        """
        if self._keys is None:
            self._load_keys()
        assert self._keys is not None
        found = np.zeros(len(digests), dtype=bool)
        if not len(self._keys) or not len(digests):
            return found, None
        order = np.argsort(self._keys, kind="stable")
        sorted_keys = self._keys[order]
        pos = np.searchsorted(sorted_keys, digests)
        pos_clipped = np.minimum(pos, len(sorted_keys) - 1)
        found = sorted_keys[pos_clipped] == digests
        if not found.any():
            return found, None
        rows = order[pos_clipped[found]]
        by_entry: dict[Path, list[tuple[int, int]]] = {}
        for out_row, global_row in enumerate(rows.tolist()):
            stem, row = self._where[global_row]
            by_entry.setdefault(stem, []).append((out_row, row))
        vectors: np.ndarray | None = None
        for stem, pairs in by_entry.items():
            data = np.load(f"{stem}.vectors.npy", mmap_mode="r", allow_pickle=False)
            if vectors is None:
                vectors = np.empty((len(rows), data.shape[1]), dtype=np.float32)
            idx = np.array(pairs, dtype=np.int64)
            vectors[idx[:, 0]] = data[idx[:, 1]]
        return found, vectors

    def store(self, digests: np.ndarray, vectors: np.ndarray, extra: Mapping[str, Any] | None = None) -> Path | None:
        """Add an entry (written to temporary names, renamed; the JSON last). Returns its stem, or None if empty."""
        if not len(digests):
            return None
        if len(digests) != len(vectors):
            raise ValueError(f"{len(digests)} keys but {len(vectors)} vectors")
        self.folder.mkdir(parents=True, exist_ok=True)
        stem = self.folder / hashlib.sha256(digests.tobytes()).hexdigest()[:24]
        token = uuid.uuid4().hex
        written = []
        try:
            for suffix, array in ((".keys.npy", digests), (".vectors.npy", np.ascontiguousarray(vectors, np.float32))):
                tmp = Path(f"{stem}{suffix}.{token}.tmp")
                with open(tmp, "wb") as handle:
                    np.save(handle, array, allow_pickle=False)
                written.append((tmp, Path(f"{stem}{suffix}")))
            meta = {**self.meta, **(extra or {}), "rows": int(len(digests)), "dim": int(vectors.shape[1]),
                    "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
            tmp = Path(f"{stem}.json.{token}.tmp")
            tmp.write_text(json.dumps(meta, indent=1, sort_keys=True), encoding="utf-8")
            written.append((tmp, Path(f"{stem}.json")))
            for tmp, final in written:
                os.replace(tmp, final)
        except OSError as exc:
            logger.warning("could not write the embedding cache %s: %s", self.folder, exc)
            for tmp, _ in written:
                if tmp.exists():
                    tmp.unlink()
            return None
        self._keys = None  # reload on next lookup
        return stem


# --------------------------------------------------------------------------------------------------- encoding


@dataclass
class EncodingStats:
    """How much encoding a run did.

    Attributes:
        distinct: distinct (role, text) pairs the collection needs.
        encoded: texts sent through the model (each distinct text at most once: ``encoded <= distinct``).
        cached: distinct texts read from the cache instead (``encoded + cached == distinct``).
        seconds: wall time spent in ``model.encode``.
        cpu_seconds: CPU time of the process (all threads) spent in ``model.encode``.
        cache_folder: where the cache entries are (None: not cached).
    """

    distinct: int = 0
    encoded: int = 0
    cached: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    cache_folder: str | None = None

    @property
    def ratio(self) -> float:
        """Texts encoded / distinct texts not taken from the cache (1.0: every text encoded exactly once)."""
        todo = self.distinct - self.cached
        return self.encoded / todo if todo else 1.0

    def as_dict(self) -> dict[str, Any]:
        return {"distinct_texts": self.distinct, "texts_encoded": self.encoded, "from_cache": self.cached,
                "encoded_per_distinct": self.ratio, "seconds": round(self.seconds, 3),
                "cpu_seconds": round(self.cpu_seconds, 3),
                "cache": self.cache_folder}


@dataclass
class EncodedQA:
    """Embeddings of a :class:`ParallelQA`, per language, in the collection's order.

    Attributes:
        queries: ``queries[lang]`` has one row per ``qa.questions[lang]`` entry (dict order).
        passages: ``passages[lang]`` has one row per ``qa.candidates[lang]`` entry.
        stats: what the encoding cost.
    """

    queries: dict[str, np.ndarray]
    passages: dict[str, np.ndarray]
    stats: EncodingStats = field(default_factory=EncodingStats)

    @property
    def dim(self) -> int:
        return next(iter(self.passages.values())).shape[1]


def _has_normalize(model: SentenceTransformer) -> bool:
    from sentence_transformers.sentence_transformer.modules import Normalize

    try:
        return any(isinstance(module, Normalize) for module in model)
    except TypeError:
        return False


def should_normalize(model: SentenceTransformer) -> bool:
    """True when the model scores by cosine but does not normalise its output itself (then we L2-normalise, so
    that the inner product of a Faiss ``IndexFlatIP`` is the cosine, as ``pyserini --l2-norm`` does)."""
    similarity = getattr(model, "similarity_fn_name", None) or "cosine"
    return str(similarity) == "cosine" and not _has_normalize(model)


def encode_texts(model: SentenceTransformer, texts: Sequence[str], *, prompt: str, batch_size: int = 32,
                 show_progress: bool = True, normalize: bool | None = None, desc: str | None = None) -> np.ndarray:
    """``model.encode`` with a prompt, as float32 (L2-normalised when :func:`should_normalize`)."""
    if not texts:
        return np.empty((0, model.get_sentence_embedding_dimension() or 0), dtype=np.float32)
    if normalize is None:
        normalize = should_normalize(model)
    if desc:
        logger.info("encoding %d %s", len(texts), desc)
    vectors = model.encode(list(texts), prompt=prompt or None, batch_size=batch_size, show_progress_bar=show_progress,
                           convert_to_numpy=True, normalize_embeddings=normalize)
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim != 2 or len(vectors) != len(texts):
        raise DataError(f"the model returned embeddings of shape {vectors.shape} for {len(texts)} texts")
    return vectors


def _distinct(texts_by_lang: Mapping[str, Sequence[str]]) -> tuple[list[str], dict[str, np.ndarray]]:
    """Distinct texts in first-seen order, and per language the row of each text in that list."""
    position: dict[str, int] = {}
    rows: dict[str, np.ndarray] = {}
    for lang, texts in texts_by_lang.items():
        idx = np.empty(len(texts), dtype=np.int64)
        for i, text in enumerate(texts):
            idx[i] = position.setdefault(text, len(position))
        rows[lang] = idx
    return list(position), rows


def encode_parallel_qa(model: SentenceTransformer, qa: ParallelQA, *, prompts: Mapping[str, str],
                       batch_size: int = 32, cache: EmbeddingCache | None = None,
                       show_progress: bool = True) -> EncodedQA:
    """Encode every question and candidate of ``qa``, each distinct text exactly once.

    Questions are encoded with ``prompts["query"]`` and candidates with ``prompts["passage"]``; a text that
    occurs several times (in one language or several) is encoded once and its row shared. With a ``cache``,
    texts already there are read instead, and the newly encoded ones are added.

    Args:
        model (SentenceTransformer): the encoder.
        qa (ParallelQA): the collection.
        prompts (dict): ``{"query": ..., "passage": ...}`` prefixes.
        batch_size (int, default 32): ``model.encode`` batch size.
        cache (EmbeddingCache, optional): on-disk cache of this model on this data.
        show_progress (bool, default True): tqdm progress bars while encoding.

    Returns:
        EncodedQA: per-language query and passage matrices and the :class:`EncodingStats`.
    """
    if batch_size < 1:
        raise UsageError(f"batch_size must be a positive number but got {batch_size}")
    stats = EncodingStats(cache_folder=str(cache.folder) if cache is not None else None)
    normalize = should_normalize(model)
    out: dict[str, dict[str, np.ndarray]] = {}
    for role, texts_by_lang in (
        ("passage", {lang: [c.text for c in qa.candidates[lang]] for lang in qa.languages}),
        ("query", {lang: list(qa.questions[lang].values()) for lang in qa.languages}),
    ):
        prompt = prompts.get(role, "")
        distinct, rows = _distinct(texts_by_lang)
        digests = text_digests(distinct, role, prompt)  # type: ignore[arg-type]
        stats.distinct += len(distinct)
        found = np.zeros(len(distinct), dtype=bool)
        vectors: np.ndarray | None = None
        if cache is not None:
            found, cached = cache.lookup(digests)
            if cached is not None:
                vectors = np.empty((len(distinct), cached.shape[1]), dtype=np.float32)
                vectors[found] = cached
            stats.cached += int(found.sum())
        todo = np.flatnonzero(~found)
        if len(todo):
            start, cpu_start = time.perf_counter(), time.process_time()
            fresh = encode_texts(model, [distinct[i] for i in todo.tolist()], prompt=prompt, batch_size=batch_size,
                                 show_progress=show_progress, normalize=normalize,
                                 desc=f"{role} texts ({int(found.sum())} more from the cache)")
            stats.seconds += time.perf_counter() - start
            stats.cpu_seconds += time.process_time() - cpu_start
            stats.encoded += len(todo)
            if vectors is None:
                vectors = np.empty((len(distinct), fresh.shape[1]), dtype=np.float32)
            elif fresh.shape[1] != vectors.shape[1]:
                raise DataError(f"cached embeddings have {vectors.shape[1]} dimensions but the model gives "
                                f"{fresh.shape[1]}", cache.folder if cache else None)
            vectors[todo] = fresh
            if cache is not None:
                cache.store(digests[todo], fresh, {"role": role, "dataset": qa.name})
        if vectors is None:  # no texts at all
            vectors = np.empty((0, model.get_sentence_embedding_dimension() or 0), dtype=np.float32)
        out[role] = {lang: vectors[idx] for lang, idx in rows.items()}
    logger.info("embeddings: %d distinct texts, %d encoded, %d from the cache", stats.distinct, stats.encoded,
                stats.cached)
    return EncodedQA(queries=out["query"], passages=out["passage"], stats=stats)


# ---------------------------------------------------------------------------------------------- Pyserini files


def _replace_folder(tmp: Path, final: Path) -> None:
    if final.exists():
        old = final.with_name(f".{final.name}.old-{uuid.uuid4().hex}")
        os.replace(final, old)
        os.replace(tmp, final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, final)


def write_faiss_index(folder: str | Path, vectors: np.ndarray, docids: Sequence[str]) -> Path:
    """Write a Pyserini Faiss index folder: ``index`` (``faiss.IndexFlatIP``) and ``docid`` (one per line).

    This is the layout ``pyserini.search.faiss.FaissSearcher`` loads (``faiss.read_index(dir/index)`` and the
    docids of ``dir/docid`` in row order). The folder is written under a temporary name and renamed.
    """
    import faiss

    folder = Path(folder)
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if vectors.ndim != 2 or len(vectors) != len(docids):
        raise ValueError(f"{len(docids)} docids but vectors of shape {vectors.shape}")
    bad = [d for d in docids if not d or any(ch.isspace() for ch in d)]
    if bad:
        raise DataError(f"docid {bad[0]!r} is empty or holds whitespace (a TREC run and the docid file cannot "
                        "hold it)")
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        index = faiss.IndexFlatIP(vectors.shape[1])
        index.add(vectors)
        faiss.write_index(index, str(tmp / "index"))
        (tmp / "docid").write_text("".join(f"{d}\n" for d in docids), encoding="utf-8")
        _replace_folder(tmp, folder)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return folder


def write_encoded_queries(folder: str | Path, texts: Sequence[str], vectors: np.ndarray) -> Path:
    """Write Pyserini's pre-encoded queries (``embedding.pkl``: a DataFrame of ``text`` and ``embedding``), which
    ``python -m pyserini.search.faiss --encoded-queries FOLDER`` looks queries up in by their text."""
    import pandas as pd

    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        frame = pd.DataFrame({"id": list(range(len(texts))), "text": list(texts),
                              "embedding": [np.asarray(v, dtype=np.float32) for v in vectors]})
        frame.to_pickle(tmp / "embedding.pkl")
        _replace_folder(tmp, folder)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return folder
