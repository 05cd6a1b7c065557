"""What produced a result: the versions of Python and of the packages involved, and the machine, recorded beside
it."""

from __future__ import annotations

import os
import platform
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["cpu_model", "machine", "package_versions"]


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


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo`` on Linux, else what :mod:`platform` says)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine() -> dict[str, Any]:
    """The machine a benchmark ran on: CPU count and model, platform. Example::

        machine()   # {"cpus": 2, "cpu": "Intel(R) Xeon(R) ...", "platform": "Linux-6.1...-x86_64-with-glibc2.36"}
    """
    return {"cpus": os.cpu_count(), "cpu": cpu_model(), "platform": platform.platform()}
