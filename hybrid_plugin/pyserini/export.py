"""Export a sentence-transformers model as a folder that Pyserini's ``auto`` encoders reproduce exactly.

Pyserini's ``AutoQueryEncoder`` / ``AutoDocumentEncoder`` (``--encoder-class auto``) read only ``config.json``,
the weights and the tokenizer; pooling, normalisation, prefixes and the document length come from command-line
flags. :func:`export_model` writes the model (a normal sentence-transformers folder, so both libraries load
it) plus ``pyserini.json`` with those flags and ready-to-run ``pyserini.encode`` / ``pyserini.search.faiss``
commands, and proves the flags right: on a handful of multilingual queries and passages (one longer than the
model's maximum length), Pyserini's encoders must give the embeddings of ``SentenceTransformer.encode`` with the
model's prompts, to within 1e-5.

How sentence-transformers maps onto Pyserini:

- modules ``Transformer -> Pooling(mean | cls) [-> Normalize]`` and nothing else (a ``Dense`` layer, as in
  LaBSE, or another pooling cannot be reproduced): ``--pooling mean|cls`` and ``--l2-norm``;
- prompts: Pyserini writes ``f"{prefix} {text}"``, so the prompt ``"query: "`` becomes ``--query-prefix query:``
  (search) and ``"passage: "`` becomes ``--prefix passage:`` (encode);
- length: ``--max-length`` for documents; queries are cut at the tokenizer's ``model_max_length``, which the
  export sets to the model's ``max_seq_length``.

Pyserini also picks encoder classes from substrings of the model path (``"clip"``, ``"dse"`` break ``auto``), so
such output paths are refused.

The export is built in a staging folder beside ``out`` (:func:`hybrid_plugin.files.staged_folder`) and swapped
in only when it is complete and verified; an error or an interrupt at any point leaves no staging folder and
the previous ``out`` as it was. ``out`` must be new, empty, or an earlier export (the plugin's marker inside it,
:func:`hybrid_plugin.files.claim_output`) replaced with ``overwrite``.

Example::

    >>> from hybrid_plugin.pyserini.export import export_model
    >>> info = export_model(None, Path("encoders/e5-small"))   # the default model
    >>> " ".join(info.search_args("indexes/xquad-r.de", "topics/xquad-r.en.tsv", "runs/en-de.txt"))
    'python -m pyserini.search.faiss --index indexes/xquad-r.de ... --query-prefix query: ...'
"""

from __future__ import annotations

import json
import logging
import os
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from hybrid_plugin.errors import UsageError, VerificationError, library_os_errors
from hybrid_plugin.files import check_output, claim_output, staged_folder
from hybrid_plugin.models.loading import load_model, model_prompts, resolve_model
from hybrid_plugin.provenance import package_versions
from hybrid_plugin.pyserini.java import configure_java

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

__all__ = ["ExportInfo", "export_model", "read_export", "pyserini_flags", "TOLERANCE", "PYSERINI_JSON"]

logger = logging.getLogger(__name__)

TOLERANCE = 1e-5
"""Largest absolute difference allowed between Pyserini's and sentence-transformers' embeddings."""

PYSERINI_JSON = "pyserini.json"
_FORMAT = 1
Pooling = Literal["mean", "cls"]

# Pyserini's encode/search CLIs choose encoder classes from these substrings of the --encoder path, even with
# --encoder-class auto: "clip" / "dse" add arguments that AutoDocumentEncoder rejects (and force --l2-norm).
_PATH_TRAPS = {"clip": lambda p: "clip" in p, "dse": lambda p: "dse" in p.lower()}

QUERIES = (
    "How old is the Moon?",
    "Wie alt ist der Mond?",
    "¿Cuántos años tiene la Luna?",
    "Сколько лет Луне?",
    "月球有多少岁？",
    "كم عمر القمر؟",
    "चंद्रमा कितना पुराना है?",
    "Ay kaç yaşında?",
)
PASSAGES = (
    "The Moon formed about 4.51 billion years ago, not long after Earth.",
    "Der Mond entstand vor etwa 4,51 Milliarden Jahren, kurz nach der Erde.",
    "Η Σελήνη σχηματίστηκε πριν από περίπου 4,51 δισεκατομμύρια χρόνια.",
    "Mặt Trăng hình thành cách đây khoảng 4,51 tỷ năm.",
    "ดวงจันทร์ก่อตัวขึ้นเมื่อประมาณ 4,510 ล้านปีก่อน",
    "月球大约形成于45.1亿年前，在地球形成后不久。",
)


@dataclass(frozen=True)
class ExportInfo:
    """An exported encoder and the Pyserini flags that reproduce it (what ``pyserini.json`` holds).

    Args:
        path: the exported folder (pass it as ``--encoder``).
        source: the model that was exported (a local folder or a hub id).
        pooling: ``--pooling`` value.
        l2_norm: whether to pass ``--l2-norm``.
        query_prefix: ``--query-prefix`` value for ``pyserini.search.faiss`` (None: no prefix).
        passage_prefix: ``--prefix`` value for ``pyserini.encode`` (None: no prefix).
        dimension: embedding size (``--dimension`` of ``pyserini.encode ... --to-faiss``).
        max_length: ``--max-length`` for ``pyserini.encode`` (the model's ``max_seq_length``).
        prompts: the sentence-transformers prompts (``{"query": ..., "passage": ...}``) behind the prefixes.
        max_abs_diff: the largest difference measured by the verification (None when it was skipped).
    """

    path: Path
    source: str
    pooling: Pooling
    l2_norm: bool
    query_prefix: str | None
    passage_prefix: str | None
    dimension: int
    max_length: int
    prompts: dict[str, str]
    max_abs_diff: float | None = None

    def encoder_flags(self) -> list[str]:
        """Flags shared by encode and search: ``--encoder-class auto --pooling P [--l2-norm]``."""
        return ["--encoder", _arg(self.path), "--encoder-class", "auto", "--pooling", self.pooling] + (
            ["--l2-norm"] if self.l2_norm else []
        )

    def encode_args(self, corpus: str | Path, embeddings: str | Path, *, to_faiss: bool = True,
                    batch_size: int = 64) -> list[str]:
        """``python -m pyserini.encode`` arguments that embed a JsonCollection like ``SentenceTransformer`` does.

        Args:
            corpus: a ``.jsonl`` file or a folder of them (``{"id": ..., "contents": ...}`` lines).
            embeddings: the output folder.
            to_faiss: write a Faiss flat inner-product index (else ``embeddings.jsonl``). Defaults to True.
            batch_size: documents per batch. Defaults to 64.
        """
        output = ["output", "--embeddings", _arg(embeddings)] + (["--to-faiss"] if to_faiss else [])
        prefix = ["--prefix", self.passage_prefix] if self.passage_prefix is not None else []
        return ["python", "-m", "pyserini.encode", "input", "--corpus", _arg(corpus), *output, "encoder",
                *self.encoder_flags(), *prefix, "--max-length", str(self.max_length),
                "--dimension", str(self.dimension), "--batch-size", str(batch_size)]

    def search_args(self, index: str | Path, topics: str | Path, output: str | Path, *, hits: int = 1000) -> list[str]:
        """``python -m pyserini.search.faiss`` arguments: encode the queries of ``topics`` and search ``index``.

        Args:
            index: a Faiss index written by :meth:`encode_args`.
            topics: a ``qid<TAB>question`` file.
            output: the TREC run file to write.
            hits: hits per query. Defaults to 1000.
        """
        prefix = ["--query-prefix", self.query_prefix] if self.query_prefix is not None else []
        return ["python", "-m", "pyserini.search.faiss", "--index", str(index), "--topics", str(topics),
                "--output", str(output), *self.encoder_flags(), *prefix, "--hits", str(hits)]

    def to_json(self) -> dict[str, Any]:
        """The content of ``pyserini.json``."""
        encode = self.encode_args("{corpus}", "{embeddings}")
        search = self.search_args("{index}", "{topics}", "{output}")
        return {
            "format": _FORMAT,
            "source": self.source,
            "encoder_class": "auto",
            "pooling": self.pooling,
            "l2_norm": self.l2_norm,
            "query_prefix": self.query_prefix,
            "passage_prefix": self.passage_prefix,
            "dimension": self.dimension,
            "max_length": self.max_length,
            "prompts": self.prompts,
            "note": "Pyserini inserts one space between a prefix and the text: prefix 'query:' + text = "
                    "prompt 'query: ' + text",
            "encode_command": _join_template(encode),
            "search_command": _join_template(search),
            "encode_args": encode,
            "search_args": search,
            "verification": {"max_abs_diff": self.max_abs_diff, "tolerance": TOLERANCE,
                             "queries": len(QUERIES) + 1, "passages": len(PASSAGES) + 1},
            "versions": package_versions(
                ("hybrid-plugin", "pyserini", "sentence-transformers", "transformers", "torch"), python=False),
        }


def _arg(path: str | Path) -> str:
    """A path argument for ``pyserini.encode``, which splits its argv at the words input / output / encoder."""
    text = str(path)
    return f".{os.sep}{text}" if text in ("input", "output", "encoder") else text


def _join_template(args: list[str]) -> str:
    return " ".join(a if a.startswith("{") and a.endswith("}") else shlex.quote(a) for a in args)


# --------------------------------------------------------------------------------------- model -> flags


def _prefix(prompt: str | None) -> str | None:
    """The Pyserini prefix for a prompt: Pyserini adds one space, so a trailing space is dropped."""
    if not prompt or not prompt.strip():
        return None
    return prompt[:-1] if prompt.endswith(" ") else prompt


def pyserini_flags(model: SentenceTransformer) -> dict[str, Any]:
    """Map a sentence-transformers model onto Pyserini's ``auto`` encoder options.

    Args:
        model: a loaded ``SentenceTransformer``.

    Returns:
        dict: ``pooling``, ``l2_norm``, ``query_prefix``, ``passage_prefix``, ``max_length``, ``prompts``.

    Raises:
        UsageError: the model has a part that Pyserini's ``auto`` encoders cannot reproduce.
    """
    from sentence_transformers.base.modules import Normalize, Transformer  # heavy
    from sentence_transformers.sentence_transformer.modules import Pooling as STPooling

    modules = list(model)
    names = " -> ".join(type(m).__name__ for m in modules)
    unsupported = f"Pyserini's auto encoder cannot reproduce this model ({names})"
    if len(modules) not in (2, 3) or not isinstance(modules[0], Transformer) or not isinstance(modules[1], STPooling):
        raise UsageError(f"{unsupported}: it needs Transformer -> Pooling(mean or cls) [-> Normalize]")
    if len(modules) == 3 and not isinstance(modules[2], Normalize):
        raise UsageError(f"{unsupported}: module {type(modules[2]).__name__} after the pooling")
    transformer, pooling = modules[0], modules[1]
    if getattr(transformer, "do_lower_case", False):
        raise UsageError(f"{unsupported}: its Transformer lowercases the input (do_lower_case)")
    for attr in ("query_length", "document_length", "processing_kwargs"):
        if getattr(transformer, attr, None):
            raise UsageError(f"{unsupported}: its Transformer sets {attr}")
    mode = pooling.pooling_mode
    if mode not in ("mean", "cls"):
        raise UsageError(f"{unsupported}: pooling {mode!r}; Pyserini reproduces 'mean' and 'cls'")
    prompts = model_prompts(model)
    if not getattr(pooling, "include_prompt", True) and any(prompts.values()):
        raise UsageError(f"{unsupported}: its pooling leaves the prompt tokens out (include_prompt=False)")
    max_length = model.max_seq_length
    if not max_length:
        raise UsageError(f"{unsupported}: it has no max_seq_length")
    return {
        "pooling": mode,
        "l2_norm": len(modules) == 3,
        "query_prefix": _prefix(prompts["query"]),
        "passage_prefix": _prefix(prompts["passage"]),
        "max_length": int(max_length),
        "prompts": prompts,
    }


# ---------------------------------------------------------------------------------------------- export


def _check_out(out: Path, overwrite: bool) -> None:
    """Refuse ``out`` before anything is written: a folder the plugin did not make, an earlier export without
    ``overwrite``, or a path that trips Pyserini's encoder-class guessing."""
    check_output(out, overwrite=overwrite, flag="the export folder")
    absolute = str(out.resolve())
    for word, trap in _PATH_TRAPS.items():
        if trap(absolute):
            raise UsageError(
                f"{absolute} contains {word!r}: `python -m pyserini.encode` picks its encoder class from such "
                f"substrings of the --encoder path (even with --encoder-class auto) and then fails; choose "
                f"another folder"
            )


def _set_tokenizer_max_length(folder: Path, max_length: int) -> None:
    """Pyserini cuts queries at the tokenizer's ``model_max_length``: make it the model's ``max_seq_length``."""
    path = folder / "tokenizer_config.json"
    config = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    if config.get("model_max_length") != max_length:
        config["model_max_length"] = max_length
        path.write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _long_text(model: SentenceTransformer, max_length: int) -> str:
    """A multilingual text longer than ``max_length`` tokens (checks that both sides truncate alike)."""
    pieces = [*PASSAGES, *QUERIES]
    text = ""
    for _ in range(1 + max_length // 8):
        text = " ".join([text, *pieces]).strip()
        if len(model.tokenizer(text, truncation=False, verbose=False)["input_ids"]) > max_length + 8:
            break
    return text


def _verify(model: SentenceTransformer, folder: Path, flags: dict[str, Any]) -> tuple[float, int]:
    """Embed the check texts with Pyserini's encoders (from ``folder``) and with ``model``; return max |diff|."""
    configure_java()  # Pyserini's encode package starts the JVM when imported
    from pyserini.encode import AutoDocumentEncoder, AutoQueryEncoder

    long_text = _long_text(model, flags["max_length"])
    queries, passages = [*QUERIES, long_text], [*PASSAGES, long_text]
    common = dict(device="cpu", pooling=flags["pooling"], l2_norm=flags["l2_norm"])
    q_enc = AutoQueryEncoder(encoder_dir=str(folder), prefix=flags["query_prefix"], **common)
    d_enc = AutoDocumentEncoder(str(folder), prefix=flags["passage_prefix"], **common)
    got_q = np.stack([q_enc.encode(q) for q in queries])
    got_d = np.asarray(d_enc.encode(list(passages), max_length=flags["max_length"]))
    prompts = flags["prompts"]
    want_q = _st_encode(model, queries, prompts["query"])
    want_d = _st_encode(model, passages, prompts["passage"])
    if got_q.shape != want_q.shape or got_d.shape != want_d.shape:
        raise VerificationError(f"Pyserini's embeddings have shape {got_q.shape} / {got_d.shape}, "
                                f"sentence-transformers' {want_q.shape} / {want_d.shape}")
    diff_q = float(np.abs(got_q - want_q).max())
    diff_d = float(np.abs(got_d - want_d).max())
    diff = max(diff_q, diff_d)
    if not diff <= TOLERANCE:  # also catches NaN
        hints = [f"prompt {p!r} does not end with a space (Pyserini adds one after the prefix)"
                 for p in prompts.values() if p and not p.endswith(" ")]
        raise VerificationError(
            f"Pyserini's auto encoder does not reproduce the model: max abs difference {diff:.3g} for queries "
            f"{diff_q:.3g}, passages {diff_d:.3g} (allowed {TOLERANCE:g})" + (f"; {'; '.join(hints)}" if hints else "")
        )
    return diff, int(want_q.shape[1])


def _st_encode(model: SentenceTransformer, texts: list[str], prompt: str) -> np.ndarray:
    return model.encode(texts, prompt=prompt or None, batch_size=4, convert_to_numpy=True, show_progress_bar=False)


def export_model(model: str | os.PathLike[str] | None, out: str | os.PathLike[str], *, verify: bool = True,
                 overwrite: bool = False) -> ExportInfo:
    """Write ``out``: the model in a form Pyserini's ``auto`` encoders load, plus ``pyserini.json``.

    Args:
        model: a sentence-transformers model folder or hub id; None or ``"default"`` for the default model.
        out: the folder to create (built in a staging folder beside it, swapped in when complete and verified).
        verify: check that Pyserini's encoders reproduce ``SentenceTransformer.encode`` (starts Pyserini's JVM,
            about 5 s). Defaults to True.
        overwrite: replace an earlier export at ``out``. Defaults to False.

    Returns:
        ExportInfo: the folder and the exact Pyserini flags.

    Raises:
        UsageError: ``out`` is not empty and not an earlier export, or an earlier export and not ``overwrite``;
            its path trips Pyserini's class guessing; the model does not exist, or has a part Pyserini cannot
            reproduce.
        DataError: the model is a broken local folder.
        VerificationError: Pyserini's embeddings differ from sentence-transformers' by more than 1e-5; ``out``
            is left as it was.
    """
    out = Path(out)
    _check_out(out, overwrite)
    source = resolve_model(model)
    if Path(source).exists():
        source = str(Path(source).resolve())
    st = load_model(source, device="cpu")
    st.eval()
    flags = pyserini_flags(st)
    with staged_folder(out, overwrite=overwrite) as tmp, library_os_errors(out):
        st.save(str(tmp))
        _set_tokenizer_max_length(tmp, flags["max_length"])
        if verify:
            diff, dimension = _verify(st, tmp, flags)
            logger.info("Pyserini reproduces %s: max abs difference %.3g", source, diff)
        else:
            diff, dimension = None, int(st.get_embedding_dimension())
        info = ExportInfo(path=out.resolve(), source=source, dimension=dimension, max_abs_diff=diff, **flags)
        (tmp / PYSERINI_JSON).write_text(json.dumps(info.to_json(), indent=2, ensure_ascii=False) + "\n",
                                         encoding="utf-8")
        claim_output(tmp, "export")
        _check_out(out, overwrite)  # it may have appeared meanwhile
    logger.info("exported %s to %s", source, out)
    return info


def read_export(folder: str | os.PathLike[str]) -> ExportInfo:
    """Read the ``pyserini.json`` of an exported folder.

    Raises:
        UsageError: ``folder`` has no readable ``pyserini.json``.
    """
    folder = Path(folder)
    path = folder / PYSERINI_JSON
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return ExportInfo(
            path=folder.resolve(), source=data["source"], pooling=data["pooling"], l2_norm=data["l2_norm"],
            query_prefix=data["query_prefix"], passage_prefix=data["passage_prefix"], dimension=data["dimension"],
            max_length=data["max_length"], prompts=data["prompts"],
            max_abs_diff=(data.get("verification") or {}).get("max_abs_diff"),
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"not an exported encoder (no valid {PYSERINI_JSON}): {exc}", path=folder) from exc
