"""One build step that pyproject.toml cannot express: ship ``hybrid_plugin_java.pth`` at the top of site-packages.

The file registers, at interpreter start-up, a trigger that hands Pyserini's ``import jnius`` and
``import pyserini.encode._openai`` to the import hook of :mod:`hybrid_plugin.pyserini.java`, so that the stock
``python -m pyserini...`` commands find a Java 21+ runtime with nothing exported (see that module and
:mod:`hybrid_plugin.pyserini.import_hook`). The trigger imports nothing and defines one small class;
``HYBRID_PLUGIN_JAVA_HOOK=0`` switches it off. Everything else about the package is in pyproject.toml.
"""

from __future__ import annotations

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

PTH_NAME = "hybrid_plugin_java.pth"

# Run by site.py in its own namespace; keep it import-free and tiny (every Python start-up of the environment).
_TRIGGER = '''\
import os, sys
class HybridPluginJavaTrigger:
    """hybrid_plugin_java.pth (hybrid-plugin): hands Pyserini's Java and OpenAI imports to hybrid-plugin's hook."""
    _hybrid_plugin_java_hook = True
    names = frozenset({"jnius", "jnius.jnius", "pyserini.encode._openai"})
    def find_spec(self, fullname, path=None, target=None):
        if fullname not in self.names:
            return None
        try:
            from hybrid_plugin.pyserini.java import _HOOK
        except ModuleNotFoundError as exc:
            if exc.name not in ("hybrid_plugin", "hybrid_plugin.pyserini", "hybrid_plugin.pyserini.java"):
                raise
            self.names = frozenset()  # the package is gone but this file was left behind
            return None
        return _HOOK.find_spec(fullname, path, target)
if os.environ.get("HYBRID_PLUGIN_JAVA_HOOK", "1") != "0" and not any(
        getattr(f, "_hybrid_plugin_java_hook", False) for f in sys.meta_path):
    sys.meta_path.insert(0, HybridPluginJavaTrigger())
'''
PTH_LINE = f"import sys; exec({_TRIGGER!r}, {{'__name__': 'hybrid_plugin_java_pth'}})\n"


class BuildPyWithPth(build_py):
    """``build_py`` that also writes :data:`PTH_NAME` beside the package (wheel root = site-packages)."""

    def run(self) -> None:
        super().run()
        (self._pth_dir() / PTH_NAME).write_text(PTH_LINE, encoding="ascii")

    def _pth_dir(self) -> Path:
        if getattr(self, "editable_mode", False):
            # `pip install -e .`: setuptools' editable wheel keeps only its own finder from build_lib, and points
            # `install` at the unpacked wheel, whose top level becomes site-packages.
            target = Path(self.get_finalized_command("install").install_lib)
        else:
            target = Path(self.build_lib)
        target.mkdir(parents=True, exist_ok=True)
        return target

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        outputs = super().get_outputs(include_bytecode)
        if not getattr(self, "editable_mode", False):
            outputs.append(str(Path(self.build_lib) / PTH_NAME))
        return outputs


setup(cmdclass={"build_py": BuildPyWithPth})
