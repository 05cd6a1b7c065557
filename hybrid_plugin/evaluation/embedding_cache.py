"""The on-disk embedding cache, and the model identity that keys it.

* :func:`model_identity` names a model by its content (a local folder: a digest of its files; a hub id: the
  commit of its cached snapshot), so that cached embeddings are reused exactly when the weights are the same.
  The identity also names the inference ``backend`` and ``precision`` the embeddings were computed with
  (today always PyTorch fp32), so that numbers from another backend are never mixed in.
* :class:`EmbeddingCache` stores embeddings under ``<cache>/embeddings/<model key>/<dataset checksum>/``, one
  entry (``<digest>.keys.npy``, ``<digest>.vectors.npy``, ``<digest>.json``) per encoding run that had something
  new to encode. Rows are addressed by :func:`text_digests` of (role, prompt, text), so a ``--limit`` run and a
  full run of the same model and data share their embeddings.

What does *not* live here: encoding itself (:mod:`hybrid_plugin.evaluation.encoding`), the cache root
(:func:`hybrid_plugin.files.cache_dir`).

Example::

    from hybrid_plugin.evaluation.embedding_cache import EmbeddingCache, model_identity, text_digests

    identity = model_identity("path/to/model", prompts={"query": "query: ", "passage": "passage: "})
    cache = EmbeddingCache.for_model(identity, qa.checksum)
    found, vectors = cache.lookup(text_digests(["Wer?"], "query", "query: "))
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np

from hybrid_plugin.errors import DataError, UsageError
from hybrid_plugin.files import atomic_write, cache_dir, sha256_file

__all__ = [
    "BACKENDS",
    "DEFAULT_BACKEND",
    "DEFAULT_PRECISION",
    "PRECISIONS",
    "Backend",
    "EmbeddingCache",
    "ModelIdentity",
    "Precision",
    "Role",
    "model_identity",
    "text_digests",
]

logger = logging.getLogger(__name__)

Role = Literal["query", "passage"]
Backend = Literal["torch", "onnx", "openvino"]
"""The inference backends an embedding may come from (sentence-transformers' ``backend=``); only ``torch`` runs
today."""
Precision = Literal["fp32", "int8"]
"""The numeric precision of the encoder that made an embedding."""
BACKENDS: tuple[str, ...] = get_args(Backend)
PRECISIONS: tuple[str, ...] = get_args(Precision)
DEFAULT_BACKEND: Backend = "torch"
DEFAULT_PRECISION: Precision = "fp32"

_DIGEST_BYTES = 16
_SKIP_FILES = {"README.md", ".gitattributes"}
_CACHE_FORMAT = 1
_HASH_MEMO = "file-hashes.json"


# ----------------------------------------------------------------------------------------------- model identity


def _check_backend(backend: str, precision: str) -> None:
    if backend not in BACKENDS:
        raise UsageError(f"backend must be one of {', '.join(BACKENDS)} but got {backend!r}")
    if precision not in PRECISIONS:
        raise UsageError(f"precision must be one of {', '.join(PRECISIONS)} but got {precision!r}")


@dataclass(frozen=True)
class ModelIdentity:
    """What identifies a model's embeddings.

    Attributes:
        name: the name given by the user (or the default model's name).
        path: the local folder it was loaded from, if any.
        digest: a content digest (local folder) or ``name@commit`` (hub snapshot); None when neither is known,
            in which case embeddings are not cached.
        prompts: the query and passage prefixes used when encoding.
        backend: the inference backend (:data:`Backend`, default ``"torch"``).
        precision: the encoder's precision (:data:`Precision`, default ``"fp32"``).

    Raises:
        UsageError: an unknown backend or precision.
    """

    name: str
    path: str | None
    digest: str | None
    prompts: Mapping[str, str] = field(default_factory=dict)
    backend: Backend = DEFAULT_BACKEND
    precision: Precision = DEFAULT_PRECISION

    def __post_init__(self) -> None:
        _check_backend(self.backend, self.precision)

    @property
    def key(self) -> str | None:
        """A short stable folder name for the cache (None: not cacheable).

        Backend and precision enter the key only when they differ from PyTorch fp32, so the keys of the entries
        written before they were part of the identity (all PyTorch fp32) stay what they were.
        """
        if self.digest is None:
            return None
        fields: dict[str, Any] = {"digest": self.digest, "prompts": dict(sorted(self.prompts.items())),
                                  "format": _CACHE_FORMAT}
        if (self.backend, self.precision) != (DEFAULT_BACKEND, DEFAULT_PRECISION):
            fields.update(backend=self.backend, precision=self.precision)
        return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:24]


def _memoised_sha256(path: Path, memo: dict[str, Any]) -> str:
    """:func:`sha256_file`, memoised by (size, mtime) in ``memo``."""
    stat = path.stat()
    tag = f"{stat.st_size}:{stat.st_mtime_ns}"
    entry = memo.get(str(path))
    if isinstance(entry, dict) and entry.get("stat") == tag:
        return entry["sha256"]
    digest = sha256_file(path)
    memo[str(path)] = {"stat": tag, "sha256": digest}
    return digest


def _read_memo(memo_path: Path) -> dict[str, Any]:
    if not memo_path.is_file():
        return {}
    try:
        memo = json.loads(memo_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}
    return memo if isinstance(memo, dict) else {}


def _folder_digest(folder: Path, memo_path: Path | None) -> str:
    """SHA-256 over (relative path, file SHA-256) of every file of a model folder; file hashes are memoised by
    (size, mtime) so that a 500 MB weights file is hashed once, not on every run."""
    memo = _read_memo(memo_path) if memo_path is not None else {}
    before = dict(memo)
    digest = hashlib.sha256()
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name not in _SKIP_FILES
                   and not any(part.startswith(".") for part in p.relative_to(folder).parts))
    if not files:
        raise DataError("model folder holds no files", folder)
    for path in files:
        digest.update(f"{path.relative_to(folder).as_posix()}\t{_memoised_sha256(path, memo)}\n".encode())
    if memo_path is not None and memo != before:
        try:
            with atomic_write(memo_path) as handle:
                handle.write(json.dumps(memo, indent=0, sort_keys=True))
        except OSError as exc:  # a read-only cache only costs speed
            logger.debug("could not save file hashes to %s: %s", memo_path, exc)
    return digest.hexdigest()


def _hub_snapshot(name: str) -> Path | None:
    try:
        from huggingface_hub import snapshot_download  # imports the hub client: only for hub ids

        return Path(snapshot_download(name, local_files_only=True))
    except Exception:  # noqa: BLE001 - any failure means "no cached snapshot": then we do not cache
        return None


def model_identity(name_or_path: str, *, name: str | None = None, prompts: Mapping[str, str] | None = None,
                   cache_root: str | Path | None = None, backend: Backend = DEFAULT_BACKEND,
                   precision: Precision = DEFAULT_PRECISION) -> ModelIdentity:
    """Identify a model for the embedding cache.

    Args:
        name_or_path (str): a local model folder or a hub id (as returned by ``models.resolve_model``).
        name (str, optional): the name to report (default: ``name_or_path``).
        prompts (dict, optional): the query / passage prefixes used; part of the cache key.
        cache_root (str | Path, optional): the plugin's cache folder (default: :func:`files.cache_dir`); file
            hashes are memoised there.
        backend (str, default "torch"): the inference backend the embeddings come from; part of the cache key.
        precision (str, default "fp32"): the encoder's precision; part of the cache key.

    Returns:
        ModelIdentity: ``digest`` is a SHA-256 over the folder's files, or ``hub-id@commit`` for a cached hub
        snapshot, or None (not cacheable).

    Raises:
        UsageError: an unknown backend or precision (checked before the model's files are read).
    """
    _check_backend(backend, precision)
    root = Path(cache_root) if cache_root is not None else cache_dir()
    label = name or str(name_or_path)
    found = dict(prompts or {})
    path = Path(name_or_path)
    if path.is_dir():
        digest = _folder_digest(path.resolve(), root / "embeddings" / _HASH_MEMO)
        return ModelIdentity(label, str(path.resolve()), digest, found, backend, precision)
    snapshot = _hub_snapshot(str(name_or_path))
    if snapshot is not None:
        return ModelIdentity(label, str(snapshot), f"{name_or_path}@{snapshot.name}", found, backend, precision)
    logger.info("model %s has no local folder or cached hub snapshot: its embeddings are not cached", name_or_path)
    return ModelIdentity(label, None, None, found, backend, precision)


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
        """The cache of ``identity`` on the data ``dataset_checksum``; None when the model is not cacheable.

        ``root`` defaults to the ``embeddings`` folder of :func:`files.cache_dir`.
        """
        if identity.key is None:
            return None
        root = Path(root) if root is not None else cache_dir() / "embeddings"
        meta = {"model": identity.name, "model_path": identity.path, "model_digest": identity.digest,
                "prompts": dict(identity.prompts), "backend": identity.backend, "precision": identity.precision,
                "dataset_checksum": dataset_checksum}
        return cls(root / identity.key / dataset_checksum[:16], meta)

    def _entries(self) -> list[Path]:
        if not self.folder.is_dir():
            return []
        return sorted(p.with_suffix("") for p in self.folder.glob("*.json"))

    def _load_keys(self) -> np.ndarray:
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
        return self._keys

    def lookup(self, digests: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Find cached rows.

        Args:
            digests: ``S16`` row keys (see :func:`text_digests`).

        Returns:
            ``(found, vectors)``: a boolean mask over ``digests`` and the vectors of the found ones, in order
            (None when nothing was found).
        """
        keys = self._keys if self._keys is not None else self._load_keys()
        found = np.zeros(len(digests), dtype=bool)
        if not len(keys) or not len(digests):
            return found, None
        order = np.argsort(keys, kind="stable")
        sorted_keys = keys[order]
        pos = np.minimum(np.searchsorted(sorted_keys, digests), len(sorted_keys) - 1)
        found = sorted_keys[pos] == digests
        if not found.any():
            return found, None
        rows = order[pos[found]]
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
        """Add an entry (each file written atomically; the JSON, which marks the entry complete, last).

        Returns its stem, or None if there was nothing to store or the cache cannot be written.
        """
        if not len(digests):
            return None
        if len(digests) != len(vectors):
            raise ValueError(f"{len(digests)} keys but {len(vectors)} vectors")
        stem = self.folder / hashlib.sha256(digests.tobytes()).hexdigest()[:24]
        meta = {**self.meta, **(extra or {}), "rows": int(len(digests)), "dim": int(vectors.shape[1]),
                "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        try:
            for suffix, array in ((".keys.npy", digests), (".vectors.npy", np.ascontiguousarray(vectors, np.float32))):
                with atomic_write(f"{stem}{suffix}", "wb") as handle:
                    np.save(handle, array, allow_pickle=False)
            with atomic_write(f"{stem}.json") as handle:
                handle.write(json.dumps(meta, indent=1, sort_keys=True))
        except OSError as exc:
            logger.warning("could not write the embedding cache %s: %s", self.folder, exc)
            return None
        self._keys = None  # reload on next lookup
        return stem
