"""What produced a result: the versions of Python and of the packages involved, recorded beside it."""

from __future__ import annotations

import platform
from collections.abc import Iterable
from importlib import metadata

__all__ = ["package_versions"]


def package_versions(packages: Iterable[str], *, python: bool = True) -> dict[str, str]:
    """Installed versions of ``packages`` (those not installed are left out), with Python's first if ``python``.

    Example::

        package_versions(["torch", "pyserini"])   # {"python": "3.11.7", "torch": "2.13.0+cpu", "pyserini": "1.6.0"}
    """
    found = {"python": platform.python_version()} if python else {}
    for name in packages:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found
