"""Lazy public names for the plugin's packages (PEP 562): ``import hybrid_plugin.models`` costs nothing until a
name is used, so that ``hybrid-plugin --help`` and light imports never load torch.

Example::

    >>> __getattr__, __dir__ = lazy_exports("mypkg", {"sqrt": "math"})
    >>> __getattr__("sqrt")(16.0)
    4.0
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(package: str, exports: Mapping[str, str], eager: Iterable[str] = ()
                 ) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Return a module's ``__getattr__`` and ``__dir__`` for names imported on first use.

    Args:
        package: the package's ``__name__`` (named in the ``AttributeError`` of an unknown name).
        exports: public name -> the module (absolute name) that defines it.
        eager: names the package defines itself; listed by ``__dir__`` with the lazy ones.
    """
    names = sorted({*exports, *eager})

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(module), name)

    def __dir__() -> list[str]:
        return list(names)

    return __getattr__, __dir__
