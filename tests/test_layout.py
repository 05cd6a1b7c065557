"""The package keeps the shape the developers' guide asks for (measured by benchmarks/layout/layout_report.py)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _layout():
    spec = importlib.util.spec_from_file_location("layout_report", ROOT / "benchmarks/layout/layout_report.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


layout = _layout()


def test_no_module_over_the_limit():
    sizes = {n: len(p.read_text(encoding="utf-8").splitlines()) for n, p in layout.modules().items()}
    assert {n: c for n, c in sizes.items() if c > layout.MAX_MODULE_LINES} == {}


def test_no_function_over_the_limit():
    over = [f for n, p in layout.modules().items() for f in layout.function_sizes(n, p)
            if f.code_lines > layout.MAX_FUNCTION_CODE_LINES]
    assert over == []


def test_no_import_cycle_between_modules():
    assert layout.cycles() == []


def test_the_package_imports_its_own_modules_at_the_top():
    local = {n: layout.own_imports(n, p)[1] for n, p in layout.modules().items()}
    assert {n: v for n, v in local.items() if v and not n.startswith("hybrid_plugin.cli")} == {}


def test_every_package_says_what_lives_there():
    for init in (ROOT / "hybrid_plugin").rglob("__init__.py"):
        text = init.read_text(encoding="utf-8").lstrip()
        assert text.startswith('"""'), f"{init} has no docstring"


def test_the_size_report_counts_code_lines_only(tmp_path):
    source = tmp_path / "m.py"
    source.write_text('def f():\n    """Doc\n    string."""\n    # a comment\n\n    x = 1\n    return x\n')
    sizes = layout.function_sizes("m", source)
    assert [(s.name, s.code_lines) for s in sizes] == [("f", 3)]
