"""The package's shape, measured: module sizes, function sizes, imports between its own modules.

Run: ``python benchmarks/layout/layout_report.py`` (prints a report; ``--json`` for a machine-readable one).
``tests/test_layout.py`` keeps the limits of the developers' guide with the same functions: no module over
400 lines, no function over 60 lines of code, no import cycle between modules, and the package's own imports at
the top of each file.
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "hybrid_plugin"
MAX_MODULE_LINES = 400
MAX_FUNCTION_CODE_LINES = 60


@dataclass(frozen=True)
class FunctionSize:
    module: str
    name: str
    code_lines: int


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _code_lines(node: ast.AST, source_lines: list[str]) -> int:
    """Lines of a function that hold code: not blank, not comments, not its docstring."""
    body = getattr(node, "body", [])
    skip: set[int] = set()
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) \
            and isinstance(body[0].value.value, str):
        skip = set(range(body[0].lineno, body[0].end_lineno + 1))
    count = 0
    for number in range(node.lineno, node.end_lineno + 1):
        text = source_lines[number - 1].strip()
        if text and not text.startswith("#") and number not in skip:
            count += 1
    return count


def function_sizes(name: str, path: Path) -> list[FunctionSize]:
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            found.append(FunctionSize(name, node.name, _code_lines(node, lines)))
    return found


def own_imports(name: str, path: Path) -> tuple[set[str], list[tuple[int, str]]]:
    """(modules of the package imported at module level, [(line, module)] imported inside functions)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    known = modules()
    top: set[str] = set()
    local: list[tuple[int, str]] = []

    def targets(node: ast.AST) -> list[str]:
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            base = node.module
            names = [f"{base}.{a.name}" for a in node.names]
            return [n for n in names if n in known] or ([base] if base in known else [])
        if isinstance(node, ast.Import):
            return [a.name for a in node.names if a.name in known]
        return []

    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            top.update(t for t in targets(node) if t.startswith("hybrid_plugin"))
        elif isinstance(node, ast.If):  # `if TYPE_CHECKING:` blocks are not run
            continue
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for inner in ast.walk(node):
                local += [(inner.lineno, t) for t in targets(inner) if t.startswith("hybrid_plugin")]
    return top, local


def cycles() -> list[list[str]]:
    """Import cycles between modules (module-level imports only; a package's ``__init__`` included)."""
    graph = {name: own_imports(name, path)[0] - {name} for name, path in modules().items()}
    found: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                found.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return found


def report() -> dict:
    mods = modules()
    lines = {n: len(p.read_text(encoding="utf-8").splitlines()) for n, p in mods.items()}
    functions = [f for n, p in mods.items() for f in function_sizes(n, p)]
    local = {n: own_imports(n, p)[1] for n, p in mods.items()}
    return {
        "modules": len(mods),
        "lines": sum(lines.values()),
        "largest_modules": sorted(lines.items(), key=lambda kv: -kv[1])[:10],
        "modules_over_limit": {n: c for n, c in lines.items() if c > MAX_MODULE_LINES},
        "largest_functions": [asdict(f) for f in sorted(functions, key=lambda f: -f.code_lines)[:10]],
        "functions_over_limit": [asdict(f) for f in functions if f.code_lines > MAX_FUNCTION_CODE_LINES],
        "function_local_own_imports": {n: v for n, v in local.items() if v},
        "cycles": cycles(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    data = report()
    if args.json:
        print(json.dumps(data, indent=1))
        return 0
    print(f"{data['modules']} modules, {data['lines']} lines")
    print("largest modules:", ", ".join(f"{n} {c}" for n, c in data["largest_modules"]))
    print("largest functions:", ", ".join(f"{f['module']}.{f['name']} {f['code_lines']}"
                                          for f in data["largest_functions"]))
    for key in ("modules_over_limit", "functions_over_limit", "function_local_own_imports", "cycles"):
        print(f"{key}: {data[key] or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
