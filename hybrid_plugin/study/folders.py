"""The folders of the resumable studies (``lowres``, ``robustness``, ``domain``): claiming one with its settings
(:func:`claim_study_folder`) and copying its small outputs to a published folder (:func:`publish_outputs`).

One home for what every study runner does with its folder, so that each refuses the same things in the same words.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path
from typing import Any

from hybrid_plugin.errors import DataError, UsageError
from hybrid_plugin.files import atomic_write, check_output, claim_output

__all__ = ["check_study_settings", "claim_study_folder", "publish_outputs"]


def _read_settings(path: Path, command: str, growing: Collection[str]) -> dict[str, Any]:
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise DataError(f"malformed JSON (not written by hybrid-plugin {command}?)", path) from None
    if not isinstance(old, dict) or any(not isinstance(old.get(k, []), list) for k in growing):
        raise DataError(f"not the settings of a hybrid-plugin {command} study", path)
    return old


def check_study_settings(out: Path, settings_file: str, plan: Mapping[str, Any], command: str, *,
                         growing: Collection[str] = ()) -> bool:
    """Whether ``out`` already holds this study (True: resume it); nothing is written.

    Args:
        growing: keys (lists) a resumed study may differ in (the domain study's ``domains``); the others must
            be equal.

    Raises:
        UsageError: ``out`` is not new, empty or the plugin's; or it holds the study with other settings.
        DataError: its settings file is not JSON.
    """
    check_output(out, overwrite=False, resumable=True)
    path = out / settings_file
    if not path.is_file():
        return False
    old = _read_settings(path, command, growing)
    diff = sorted(k for k in set(old) | set(plan) if k not in growing and old.get(k) != plan.get(k))
    if diff:
        raise UsageError(f"{out} holds a {command} study with other settings ({', '.join(diff)}); resume it with the "
                         "same options or choose another --out")
    return True


def claim_study_folder(out: Path, settings_file: str, plan: Mapping[str, Any], command: str, *,
                       growing: Collection[str] = ()) -> bool:
    """Check ``out`` (:func:`check_study_settings`); a new folder is claimed and its settings written. A
    resumed study's ``growing`` keys are rewritten (atomically) as the union of the file's and ``plan``'s.

    Returns:
        bool: True when an earlier run of the same study is resumed.

    Example::

        claim_study_folder(Path("outputs/domain"), "domain.json", settings.plan(), "domain", growing=("domains",))
    """
    if check_study_settings(out, settings_file, plan, command, growing=growing):
        old = _read_settings(out / settings_file, command, growing)
        merged = {**old, **{k: list(dict.fromkeys([*old.get(k, []), *plan.get(k, [])])) for k in growing}}
        if merged != old:
            with atomic_write(out / settings_file) as handle:
                json.dump(merged, handle, indent=1)
        return True
    claim_output(out, command)
    with atomic_write(out / settings_file) as handle:
        json.dump(dict(plan), handle, indent=1)
    return False


def publish_outputs(out: Path, publish: Path | None, patterns: Iterable[str]) -> None:
    """Copy the files of ``out`` matching ``patterns`` to the same places under ``publish`` (None: nothing),
    each atomically, skipping those whose published copy is not older."""
    if publish is None:
        return
    for pattern in patterns:
        for path in sorted(out.glob(pattern)):
            dest = publish / path.relative_to(out)
            if dest.exists() and dest.stat().st_mtime >= path.stat().st_mtime:
                continue
            with path.open("rb") as source, atomic_write(dest, "wb") as target:
                shutil.copyfileobj(source, target)
