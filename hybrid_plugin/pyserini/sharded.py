"""Encode a large corpus on several processes with Pyserini's own sharding, and merge the shards with its own tool.

The stock route, run for you and checked: ``python -m pyserini.encode input --corpus C --shard-id i --shard-num N
output --embeddings DIR_i --to-faiss encoder ...`` once per shard (the encoder flags -- pooling, ``--l2-norm``,
prefix, max length, dimension -- from the ``pyserini.json`` of an exported encoder,
:meth:`~hybrid_plugin.pyserini.export.ExportInfo.encode_args`), ``parallel`` processes at a time, each with its
math libraries limited to ``cores // parallel`` threads so that the processes do not oversubscribe the cores;
then ``python -m pyserini.index.merge_faiss_indexes --prefix DIR_ --shard-num N`` concatenates the shards in
shard order. Pyserini cuts the corpus (one listing of its files, in order) into ``N`` contiguous slices of
``total // N`` documents, the last one taking the rest, so the merged index holds the documents in the order a
single ``pyserini.encode`` gives.

What the plugin adds: the corpus is checked before any process starts (every line a JSON object with an ``id``
and a one-field ``contents`` or ``text``, as Pyserini's ``JsonlCollectionIterator`` reads it); the shards and
the merge run in a staging folder beside ``out``, swapped in only when every shard succeeded and the merged
index holds every document once (:func:`hybrid_plugin.files.staged_folder`); a failed shard ends the others and
raises one line naming the shard and the last line of its output; ``out`` gets ``sharding.json``
(:class:`ShardedIndex`) beside Pyserini's ``index`` and ``docid``.

What does *not* live here: the export and its flags (:mod:`hybrid_plugin.pyserini.export`), finding Java for
the subprocesses (:mod:`hybrid_plugin.pyserini.java`), writing an index from in-process embeddings
(:mod:`hybrid_plugin.pyserini.faiss_files`).

Example::

    from hybrid_plugin.pyserini.sharded import encode_corpus_sharded

    index = encode_corpus_sharded("encoders/e5-small", "corpus/xquad-r", "indexes/xquad-r", shards=2)
    index.docs_per_shard, index.seconds_per_shard
    # python -m pyserini.search.faiss --index indexes/xquad-r ...
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hybrid_plugin.errors import UsageError, VerificationError
from hybrid_plugin.files import atomic_write, check_output, claim_output, staged_folder
from hybrid_plugin.models.loading import check_device
from hybrid_plugin.pyserini.corpus_check import check_corpus, corpus_files, shard_sizes
from hybrid_plugin.pyserini.export import ExportInfo, read_export
from hybrid_plugin.pyserini.java import pyserini_env
from hybrid_plugin.pyserini.subprocesses import available_cores, run_parallel, thread_limits

__all__ = ["MERGE_MODULE", "RECORD_FILE", "ShardSettings", "ShardedIndex", "encode_corpus_sharded",
           "read_sharded_index"]

logger = logging.getLogger(__name__)

RECORD_FILE = "sharding.json"
"""The record of a sharded encoding, written beside Pyserini's ``index`` and ``docid``."""

MERGE_MODULE = "pyserini.index.merge_faiss_indexes"
_FORMAT = 1


@dataclass(frozen=True)
class ShardSettings:
    """How to shard one encoding, checked when made (before anything is read or started).

    Args:
        shards: how many slices (``--shard-num``). Defaults to 2.
        parallel: processes at a time (None: all shards at once; more than ``shards`` means ``shards``).
        batch_size: documents per batch (``--batch-size``). Defaults to 32.
        max_length: ``--max-length`` (None: the export's, which its verification used; a shorter one truncates
            more than the model does).
        devices: ``--device`` of the shards, used in turn (``("cuda:0", "cuda:1")`` puts odd shards on the second
            GPU). Defaults to ``("cpu",)``.
        threads: math-library threads per process (None: the cores this process may use, divided by
            ``parallel``, at least 1).

    Raises:
        UsageError: a count below 1, or no device.

    Example::

        >>> ShardSettings(shards=4, parallel=2).parallel
        2
    """

    shards: int = 2
    parallel: int | None = None
    batch_size: int = 32
    max_length: int | None = None
    devices: tuple[str, ...] = ("cpu",)
    threads: int | None = None

    def __post_init__(self) -> None:
        for name in ("shards", "parallel", "batch_size", "max_length", "threads"):
            value = getattr(self, name)
            optional = name not in ("shards", "batch_size")
            if not (value is None and optional) and (isinstance(value, bool) or not isinstance(value, int)
                                                      or value < 1):
                raise UsageError(f"{name} must be a positive integer{' or None' if optional else ''} "
                                 f"but got {value!r}")
        devices = (self.devices,) if isinstance(self.devices, str) else tuple(self.devices)
        if not devices or not all(isinstance(d, str) and d for d in devices):
            raise UsageError(f"devices must name at least one device (cpu, cuda:0, ...) but got {self.devices!r}")
        parallel = min(self.parallel or self.shards, self.shards)
        object.__setattr__(self, "devices", devices)
        object.__setattr__(self, "parallel", parallel)
        object.__setattr__(self, "threads", self.threads or max(1, available_cores() // parallel))

    def device(self, shard: int) -> str:
        """The device of shard ``shard`` (the devices in turn)."""
        return self.devices[shard % len(self.devices)]


@dataclass(frozen=True)
class ShardedIndex:
    """A Faiss index folder built by :func:`encode_corpus_sharded` (what its ``sharding.json`` holds).

    Args:
        path: the index folder (``pyserini.search.faiss --index PATH``).
        encoder: the exported encoder folder.
        corpus: the corpus file or folder that was encoded.
        dimension: the embedding size.
        docs_per_shard: documents of each shard, in shard order (the merged index holds them in that order).
        seconds_per_shard: wall-clock seconds of each shard's process (start-up included).
        merge_seconds: seconds of the merge (0 for one shard: nothing to merge).
        parallel: processes that ran at a time.
        threads: math-library threads per process.
        devices: the devices the shards used in turn.
    """

    path: Path
    encoder: Path
    corpus: Path
    dimension: int
    docs_per_shard: tuple[int, ...]
    seconds_per_shard: tuple[float, ...]
    merge_seconds: float
    parallel: int
    threads: int
    devices: tuple[str, ...]

    @property
    def shards(self) -> int:
        return len(self.docs_per_shard)

    @property
    def docs(self) -> int:
        return sum(self.docs_per_shard)

    def to_json(self) -> dict[str, Any]:
        """The content of ``sharding.json`` (paths as strings)."""
        data = dataclasses.asdict(self)
        data.update(format=_FORMAT, path=str(self.path), encoder=str(self.encoder), corpus=str(self.corpus),
                    shards=self.shards, docs=self.docs, merge_tool=MERGE_MODULE)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ShardedIndex:
        """The record from :meth:`to_json`'s form (extra keys are ignored)."""
        fields = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in fields}
        for name in ("path", "encoder", "corpus"):
            values[name] = Path(values[name])
        for name in ("docs_per_shard", "seconds_per_shard", "devices"):
            values[name] = tuple(values[name])
        return cls(**values)


def read_sharded_index(folder: str | os.PathLike[str]) -> ShardedIndex:
    """Read the ``sharding.json`` of an index folder written by :func:`encode_corpus_sharded`.

    Raises:
        UsageError: ``folder`` has no readable ``sharding.json``.
    """
    path = Path(folder) / RECORD_FILE
    try:
        return ShardedIndex.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"not a sharded index (no valid {RECORD_FILE}): {exc}", path=folder) from exc


# ------------------------------------------------------------------------------------------------ processes


def _shard_args(info: ExportInfo, corpus: Path, folder: Path, shard: int, settings: ShardSettings) -> list[str]:
    """The stock ``pyserini.encode`` command of one shard: the export's own arguments plus the shard flags."""
    args = info.encode_args(corpus, folder, batch_size=settings.batch_size)
    at = args.index("output")  # pyserini.encode splits its argv at this word; paths never equal it here
    args[at:at] = ["--shard-id", str(shard), "--shard-num", str(settings.shards)]
    return [sys.executable, *args[1:], "--device", settings.device(shard)]


def _merge(tmp: Path, shards: int, dimension: int, env: Mapping[str, str]) -> float:
    """Pyserini's merge of ``tmp/shard0 .. shard{N-1}`` into ``tmp/index`` + ``tmp/docid``; return its seconds
    (one shard: moved, nothing to merge)."""
    seconds = 0.0
    if shards > 1:
        args = [sys.executable, "-m", MERGE_MODULE, "--prefix", str(tmp / "shard"), "--shard-num", str(shards),
                "--dimension", str(dimension)]
        seconds = run_parallel({MERGE_MODULE: args}, {MERGE_MODULE: tmp / "merge.log"}, parallel=1,
                               env=env)[MERGE_MODULE]
    merged = tmp / ("shardfull" if shards > 1 else "shard0")
    for name in ("index", "docid"):
        os.replace(merged / name, tmp / name)
    return seconds


def _count_lines(path: Path) -> int:
    with open(path, "rb") as handle:
        return sum(1 for _ in handle)


def _shard_docs(tmp: Path, planned: Sequence[int]) -> list[int]:
    """The documents each shard encoded (its docid lines); raise unless they are what was planned."""
    got = [_count_lines(tmp / f"shard{i}" / "docid") for i in range(len(planned))]
    if got != list(planned):
        raise VerificationError(f"the shards hold {got} documents; Pyserini's split gives {list(planned)}")
    return got


def _check_merged(tmp: Path, total: int, dimension: int) -> None:
    """Raise unless the merged index holds ``total`` vectors of size ``dimension`` and as many docids."""
    import faiss  # heavy optional library, needed only here

    index = faiss.read_index(str(tmp / "index"), faiss.IO_FLAG_MMAP)  # mapped, not loaded
    docids = _count_lines(tmp / "docid")
    if (index.ntotal, index.d, docids) != (total, dimension, total):
        raise VerificationError(f"the merged index holds {index.ntotal} vectors of size {index.d} and {docids} "
                                f"docids; expected {total} of size {dimension}")


# ------------------------------------------------------------------------------------------------- the job


def _check_paths(corpus: Path, out: Path, overwrite: bool) -> None:
    check_output(out, overwrite=overwrite, flag="--out")
    corpus_files(corpus)  # it exists
    if corpus.is_dir() and (out.resolve() == corpus.resolve() or corpus.resolve() in out.resolve().parents):
        raise UsageError(f"--out {out} is inside --corpus {corpus}: Pyserini would read the shards as part of "
                         "the corpus; choose a folder outside it")


def encode_corpus_sharded(encoder: str | os.PathLike[str], corpus: str | os.PathLike[str],
                          out: str | os.PathLike[str], *, shards: int = 2, parallel: int | None = None,
                          batch_size: int = 32, max_length: int | None = None,
                          device: str | Sequence[str] = "cpu", threads: int | None = None,
                          overwrite: bool = False) -> ShardedIndex:
    """Encode ``corpus`` with the stock ``pyserini.encode`` in ``shards`` slices and merge them into ``out``.

    Args:
        encoder: a folder written by :func:`~hybrid_plugin.pyserini.export.export_model` (its ``pyserini.json``
            gives the flags).
        corpus: a Pyserini JSONL corpus: a ``.jsonl`` file or a folder of them (as ``hybrid-plugin prepare``
            writes, ``{"id": ..., "contents": ...}`` per line).
        out: the index folder to create (a Faiss folder ``pyserini.search.faiss --index`` opens).
        shards, parallel, batch_size, max_length, threads: see :class:`ShardSettings`.
        device: ``--device`` of every shard, or several used in turn. Defaults to ``"cpu"``.
        overwrite: replace an earlier output of the plugin at ``out``. Defaults to False.

    Returns:
        ShardedIndex: the record (also written to ``out/sharding.json``).

    Raises:
        UsageError: a bad option, a missing corpus, more shards than documents, an encoder folder without
            ``pyserini.json``, ``out`` not empty and not the plugin's (or the plugin's without ``overwrite``).
        DataError: a corpus line Pyserini cannot read, or a shard (or the merge) failed: ``out`` is left as it was.
        JavaError: no Java 21+ for Pyserini.

    Example::

        >>> index = encode_corpus_sharded("encoders/e5", "corpus/xquad-r/de.jsonl", "indexes/de", shards=2)
        >>> index.docs_per_shard
        (595, 596)
    """
    settings = ShardSettings(shards=shards, parallel=parallel, batch_size=batch_size, max_length=max_length,
                             devices=(device,) if isinstance(device, str) else tuple(device), threads=threads)
    corpus, out = Path(corpus).absolute(), Path(out)
    _check_paths(corpus, out, overwrite)
    info = read_export(encoder)
    if settings.max_length is not None:
        if settings.max_length > info.max_length:
            raise UsageError(f"max_length {settings.max_length} is longer than the export's {info.max_length}")
        info = dataclasses.replace(info, max_length=settings.max_length)
    for name in dict.fromkeys(settings.devices):
        check_device(name)
    total = check_corpus(corpus)
    planned = shard_sizes(total, settings.shards)
    env = thread_limits(settings.threads, pyserini_env())
    with staged_folder(out, overwrite=overwrite) as tmp:
        names = [f"shard {i} of {settings.shards}" for i in range(settings.shards)]
        commands = {name: _shard_args(info, corpus, tmp / f"shard{i}", i, settings) for i, name in enumerate(names)}
        logs = {name: tmp / f"shard{i}.log" for i, name in enumerate(names)}
        logger.info("encoding %d documents of %s in %d shards, %d at a time (%d threads each)", total, corpus,
                    settings.shards, settings.parallel, settings.threads)
        seconds = list(run_parallel(commands, logs, parallel=settings.parallel, env=env).values())
        docs = _shard_docs(tmp, planned)
        merge_seconds = _merge(tmp, settings.shards, info.dimension, env)
        _check_merged(tmp, total, info.dimension)
        for path in {*tmp.glob("shard*"), *tmp.glob("*.log")}:
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()
        record = ShardedIndex(
            path=out.resolve(), encoder=info.path, corpus=corpus, dimension=info.dimension,
            docs_per_shard=tuple(docs), seconds_per_shard=tuple(round(s, 3) for s in seconds),
            merge_seconds=round(merge_seconds, 3), parallel=settings.parallel, threads=settings.threads,
            devices=settings.devices)
        with atomic_write(tmp / RECORD_FILE) as handle:
            handle.write(json.dumps(record.to_json(), indent=2) + "\n")
        claim_output(tmp, "index")
        check_output(out, overwrite=overwrite, flag="--out")  # it may have been filled meanwhile
    logger.debug("wrote %s: %d documents from %d shards", out, record.docs, record.shards)
    return record
