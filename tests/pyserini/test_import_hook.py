"""hybrid_plugin.pyserini.import_hook: the hook acts on jnius and Pyserini's OpenAI import only, the placeholder
key lives only while that module is imported, and the start-up trigger (.pth) is installed and stays light."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import types
from pathlib import Path

import pytest

from hybrid_plugin.pyserini import import_hook
from hybrid_plugin.pyserini.import_hook import (
    HOOK_ENV,
    OPENAI_KEY_ENV,
    OPENAI_PLACEHOLDER,
    OpenAIPlaceholderLoader,
    PyseriniImportHook,
    install_import_hook,
    startup_hook_active,
)


@pytest.fixture(autouse=True)
def no_openai_key(monkeypatch):
    """Each test starts without OPENAI_API_KEY; the user's value is restored afterwards."""
    monkeypatch.setenv(OPENAI_KEY_ENV, "")
    monkeypatch.delenv(OPENAI_KEY_ENV)


# ------------------------------------------------------------------------------------------------ the hook


def test_the_hook_runs_its_function_before_jnius_only():
    calls = []
    hook = PyseriniImportHook(before_jvm=lambda: calls.append("configured"))
    assert hook.find_spec("jnius") is None  # the ordinary finders then load it
    assert hook.find_spec("jnius.jnius") is None
    assert calls == ["configured", "configured"]
    assert hook.find_spec("json") is None and hook.find_spec("pyserini.search") is None
    assert calls == ["configured", "configured"]


def test_the_hook_is_installed_once(monkeypatch):
    monkeypatch.setattr(sys, "meta_path", [f for f in sys.meta_path if not getattr(f, import_hook.HOOK_MARKER, 0)])
    assert not startup_hook_active()
    first, second = PyseriniImportHook(before_jvm=lambda: None), PyseriniImportHook(before_jvm=lambda: None)
    install_import_hook(first)
    install_import_hook(second)
    assert sys.meta_path[0] is first and second not in sys.meta_path
    assert not startup_hook_active()  # the process's own hook is not the start-up trigger


def _load_through_openai_loader(tmp_path: Path) -> types.ModuleType:
    source = tmp_path / "reads_key.py"
    source.write_text("import os\nSEEN = os.environ.get('OPENAI_API_KEY')\n")
    spec = importlib.util.spec_from_file_location("reads_key", source)
    spec.loader = OpenAIPlaceholderLoader(spec.loader)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_openai_key_placeholder_exists_only_while_pyserini_module_is_imported(tmp_path):
    assert OPENAI_KEY_ENV not in os.environ  # no_openai_key unset it
    assert _load_through_openai_loader(tmp_path).SEEN == OPENAI_PLACEHOLDER
    assert OPENAI_KEY_ENV not in os.environ


def test_openai_key_of_the_user_is_left_alone(tmp_path, monkeypatch):
    monkeypatch.setenv(OPENAI_KEY_ENV, "sk-user")
    assert _load_through_openai_loader(tmp_path).SEEN == "sk-user"
    assert os.environ[OPENAI_KEY_ENV] == "sk-user"


# ------------------------------------------------------------------------------- the start-up trigger (.pth)


def _python_says(code: str, **env: str) -> str:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            env={**os.environ, **env}, timeout=120)
    return result.stdout.strip()


def test_importing_what_the_trigger_imports_stays_light():
    # the .pth trigger imports it inside Pyserini's import of jnius: it must not import Pyserini (or torch) back
    heavy = _python_says("import sys, hybrid_plugin.pyserini.java; print(sorted(m for m in ('pyserini', 'jnius', "
                         "'jnius_config', 'torch', 'numpy', 'sentence_transformers') if m in sys.modules))")
    assert heavy == "[]"


def test_startup_trigger_is_installed_in_this_environment():
    code = "import sys; print([type(f).__name__ for f in sys.meta_path])"
    finders = _python_says(code)
    assert "HybridPluginJavaTrigger" in finders, (
        "hybrid_plugin_java.pth is not in site-packages: install the project with `pip install -e .`")
    assert "HybridPluginJavaTrigger" not in _python_says(code, **{HOOK_ENV: "0"})


def test_startup_trigger_hands_jnius_to_this_packages_hook():
    # the trigger finds the hook under its current module path (a stale .pth would silently do nothing)
    code = ("import sys, types; sys.modules['jnius_config'] = types.SimpleNamespace(options=[], vm_running=False)\n"
            "trigger = next(f for f in sys.meta_path if type(f).__name__ == 'HybridPluginJavaTrigger')\n"
            "trigger.find_spec('json'); print('hybrid_plugin.pyserini.java' in sys.modules)\n"
            "trigger.find_spec('jnius'); print('hybrid_plugin.pyserini.java' in sys.modules, bool(trigger.names))\n")
    assert _python_says(code).splitlines() == ["False", "True True"]
