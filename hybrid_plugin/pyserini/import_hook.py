"""The import hook that prepares Pyserini's two troublesome imports: ``jnius`` and ``pyserini.encode._openai``.

:class:`PyseriniImportHook` is a ``sys.meta_path`` entry that acts on exactly two imports and leaves every other
one alone:

- ``jnius`` (which starts the JVM): the hook calls the function it was made with first -- in the plugin,
  :func:`hybrid_plugin.pyserini.java.configure_java`, which points pyjnius at a Java 21+ runtime and drops
  JVM options that runtime lacks;
- ``pyserini.encode._openai``: builds an ``openai.OpenAI(api_key="")`` client at import time, which recent
  ``openai`` releases refuse without ``OPENAI_API_KEY`` -- and every ``pyserini.encode`` or
  ``pyserini.search.faiss`` import goes through it. While (and only while) that module is imported with no key
  set, :class:`OpenAIPlaceholderLoader` sets a placeholder key; it is removed again right after, so the OpenAI
  encoders still ask for a real key when someone uses them.

The hook object with its function lives in :mod:`hybrid_plugin.pyserini.java`, which installs it
(:func:`install_import_hook`) whenever it configures Java. For the stock ``python -m pyserini...`` commands,
``hybrid_plugin_java.pth`` (written into site-packages by the build step in ``setup.py``) registers a few-line
trigger at interpreter start-up that hands those two imports to that hook; :data:`HOOK_ENV` ``=0`` switches the
trigger off, and :func:`startup_hook_active` tells whether it is there.

This module imports nothing heavy: the start-up trigger imports it inside Pyserini's own imports.
"""

from __future__ import annotations

import importlib.abc
import os
import sys
from collections.abc import Callable

__all__ = [
    "HOOK_ENV",
    "HOOK_MARKER",
    "OPENAI_KEY_ENV",
    "OPENAI_PLACEHOLDER",
    "OpenAIPlaceholderLoader",
    "PyseriniImportHook",
    "install_import_hook",
    "startup_hook_active",
]

HOOK_ENV = "HYBRID_PLUGIN_JAVA_HOOK"
"""Set to ``0`` to keep ``hybrid_plugin_java.pth`` from registering its start-up trigger."""

HOOK_MARKER = "_hybrid_plugin_java_hook"
"""Class attribute (True) of the hook and of the ``.pth`` trigger: one of them on ``sys.meta_path`` is enough."""

OPENAI_KEY_ENV = "OPENAI_API_KEY"
OPENAI_PLACEHOLDER = "placeholder-set-by-hybrid-plugin-while-importing-pyserini"

_JNIUS_MODULES = frozenset({"jnius", "jnius.jnius"})
_OPENAI_MODULE = "pyserini.encode._openai"


class OpenAIPlaceholderLoader(importlib.abc.Loader):
    """Runs a module with a placeholder ``OPENAI_API_KEY`` when none is set, and removes it afterwards.

    Args:
        loader: the loader that would load the module otherwise; everything else is delegated to it.
    """

    def __init__(self, loader: importlib.abc.Loader) -> None:
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module) -> None:
        old = os.environ.get(OPENAI_KEY_ENV)
        if old:
            self._loader.exec_module(module)
            return
        os.environ[OPENAI_KEY_ENV] = OPENAI_PLACEHOLDER
        try:
            self._loader.exec_module(module)
        finally:
            if old is None:
                os.environ.pop(OPENAI_KEY_ENV, None)
            else:
                os.environ[OPENAI_KEY_ENV] = old

    def __getattr__(self, name: str):  # get_source, get_code, get_filename, ... (tracebacks, inspect)
        return getattr(self._loader, name)


class PyseriniImportHook(importlib.abc.MetaPathFinder):
    """A ``sys.meta_path`` entry that acts on ``jnius`` and ``pyserini.encode._openai`` only.

    Args:
        before_jvm: called when ``jnius`` (which starts the JVM) is about to be imported; the normal finders
            then load it.
    """

    _hybrid_plugin_java_hook = True  # HOOK_MARKER

    def __init__(self, before_jvm: Callable[[], object]) -> None:
        self.before_jvm = before_jvm

    def find_spec(self, fullname, path=None, target=None):
        if fullname in _JNIUS_MODULES:
            self.before_jvm()
            return None  # the normal finders load it
        if fullname == _OPENAI_MODULE:
            spec = self._find_elsewhere(fullname, path, target)
            if spec is not None and spec.loader is not None:
                spec.loader = OpenAIPlaceholderLoader(spec.loader)
            return spec
        return None

    @staticmethod
    def _find_elsewhere(fullname, path, target):
        for finder in sys.meta_path:
            if getattr(finder, HOOK_MARKER, False) or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                return spec
        return None


def startup_hook_active() -> bool:
    """Whether ``hybrid_plugin_java.pth`` registered its trigger in this interpreter (so it will in children)."""
    return any(getattr(f, HOOK_MARKER, False) and not isinstance(f, PyseriniImportHook) for f in sys.meta_path)


def install_import_hook(hook: PyseriniImportHook) -> None:
    """Put ``hook`` first on ``sys.meta_path`` unless a hook (or the ``.pth`` trigger that uses one) is there."""
    if not any(getattr(f, HOOK_MARKER, False) for f in sys.meta_path):
        sys.meta_path.insert(0, hook)
