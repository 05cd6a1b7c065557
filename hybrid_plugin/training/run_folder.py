"""The output folder of a training run: what to do with what is there, and writing into it safely.

``train --out DIR`` decides, before anything is touched (:func:`plan_run_folder`):

========================================  =======================================================================
what ``DIR`` holds                        what happens
========================================  =======================================================================
nothing (or does not exist)               a fresh run in ``DIR`` (``--resume``: an error, nothing to resume)
a run with a checkpoint, ``--resume``     it continues from the last complete checkpoint (same settings only)
a run that stopped before its first       it starts again in ``DIR`` (nothing is lost: there is no checkpoint)
checkpoint
a run, ``--overwrite``                    the new run is built beside ``DIR`` and swapped in when it is complete:
                                          a failure or an interrupt leaves the old run as it was
a run, neither option                     an error: pass ``--resume`` or ``--overwrite``
anything the plugin did not make          an error (:func:`hybrid_plugin.files.check_output`), whatever the
                                          options
========================================  =======================================================================

:func:`run_folder` then prepares the folder (only after every option and the data have been checked) and
:func:`save_final_model` moves the trained model into it. Under ``torchrun`` the main process changes the
folder; every process gets its path.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from hybrid_plugin.errors import DataError, UsageError
from hybrid_plugin.files import MARKER, atomic_write, check_output, claim_output, output_lock, staged_folder
from hybrid_plugin.training.settings import TrainingSettings

if TYPE_CHECKING:
    from accelerate import PartialState
    from sentence_transformers import SentenceTransformer

__all__ = ["RunPlan", "plan_run_folder", "run_folder", "save_final_model", "write_json"]

RUN_FILE = "run.json"  # written when a run starts: its settings (what --resume compares)
REPORT_FILE = "training.json"  # written when a run ends
CHECKPOINTS = "checkpoints"
_TRAINER_STATE = "trainer_state.json"  # the trainer writes it last into a checkpoint: a complete one has it
_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")

Mode = Literal["fresh", "resume", "restart", "replace"]


@dataclass(frozen=True)
class RunPlan:
    """What :func:`run_folder` does with the output folder, and the checkpoint to resume from (``"resume"``)."""

    mode: Mode
    resume_from: str | None = None


def write_json(path: Path, payload: dict[str, Any]) -> None:
    with atomic_write(path) as handle:
        handle.write(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")


def _checkpoints(folder: Path) -> list[tuple[int, Path, bool]]:
    """``(step, path, complete)`` of the trainer's checkpoints in ``folder``, by step."""
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p, (p / _TRAINER_STATE).is_file()) for p in folder.iterdir()
             if p.is_dir() and (m := _CHECKPOINT.match(p.name))]
    return sorted(found)


def _last_checkpoint(folder: Path) -> Path | None:
    complete = [path for _, path, done in _checkpoints(folder) if done]
    return complete[-1] if complete else None


def _check_resume_settings(settings: TrainingSettings, out: Path) -> None:
    path = out / RUN_FILE
    try:
        before = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"not the JSON a training run writes ({exc}); pass --overwrite to replace the run",
                        path) from None
    settings_before = before.get("settings") if isinstance(before, dict) else None
    if not isinstance(settings_before, dict):
        raise DataError("holds no \"settings\" object; pass --overwrite to replace the run", path)
    changed = settings.changed_since(settings_before)
    if changed:
        raise UsageError(f"--resume needs the settings of the run it continues; changed: {', '.join(changed)}",
                         out)


def plan_run_folder(settings: TrainingSettings) -> RunPlan:
    """Decide what the run does with ``settings.out`` (see the module doc); change nothing.

    Raises:
        UsageError: the folder may not be used with these options (the message says what to pass instead).
    """
    out = Path(settings.out)
    check_output(out, overwrite=settings.overwrite, resumable=True)
    held = {p.name for p in out.iterdir()} - {MARKER} if out.is_dir() else set()
    checkpoints = out / CHECKPOINTS
    no_checkpoint = UsageError(f"--resume: {checkpoints} holds no checkpoint to resume from", out)
    if not held:
        if settings.resume:
            raise no_checkpoint
        return RunPlan("fresh")
    if settings.overwrite:
        return RunPlan("replace")
    finished = (out / REPORT_FILE).is_file()
    if not finished and not (out / RUN_FILE).is_file():
        raise UsageError("holds output that is not a training run; choose another --out or pass --overwrite to "
                         "replace it", out)
    last = _last_checkpoint(checkpoints)
    if last is None and not finished:
        return RunPlan("restart")  # it stopped before its first checkpoint: nothing to continue, nothing to lose
    if not settings.resume:
        raise UsageError("the output folder holds a training run; pass --resume to continue it or --overwrite to "
                         "replace it", out)
    if last is None:
        raise no_checkpoint
    _check_resume_settings(settings, out)
    return RunPlan("resume", str(last))


def _clear(folder: Path) -> None:
    """Remove everything in a folder the plugin owns but its marker."""
    for entry in folder.iterdir():
        if entry.name == MARKER:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def _prepare(folder: Path, plan: RunPlan, run_info: dict[str, Any]) -> None:
    """Main process: make ``folder`` ready for the run and write its ``run.json``."""
    if plan.mode == "restart":
        _clear(folder)
    elif plan.mode == "resume":  # a checkpoint the trainer did not finish writing is not one
        for _, path, done in _checkpoints(folder / CHECKPOINTS):
            if not done:
                shutil.rmtree(path)
        for stale in folder.glob(".final-*"):  # a final save that was killed
            shutil.rmtree(stale, ignore_errors=True)
    claim_output(folder, "train")
    write_json(folder / RUN_FILE, run_info)


def _shared(value: str | None, state: PartialState) -> str:
    """The main process's ``value`` on every process."""
    if state.num_processes == 1:
        return value  # type: ignore[return-value]
    from accelerate.utils import broadcast_object_list  # heavy: only under torchrun

    box = [value]
    broadcast_object_list(box, from_process=0)
    return box[0]  # type: ignore[return-value]


@contextlib.contextmanager
def run_folder(settings: TrainingSettings, plan: RunPlan, state: PartialState,
               run_info: dict[str, Any]) -> Iterator[Path]:
    """The folder the run writes into, ready (``run.json`` written); call only after every check has passed.

    ``"replace"`` builds the run in a staging folder beside ``settings.out`` and swaps it in when the block
    succeeds; on any other exit the staging folder is removed and the old run stays. The other modes write in
    ``settings.out`` itself, so that an interrupted run can be resumed from its checkpoints. The main process
    holds ``settings.out`` for the whole run (:func:`~hybrid_plugin.files.output_lock`): a second run on the same
    folder is refused, and a plan that another run made stale meanwhile is an error.
    """
    out = Path(settings.out)
    if not state.is_main_process:
        if plan.mode != "replace":
            state.wait_for_everyone()
            yield out
        else:
            yield Path(_shared(None, state))
        return
    with output_lock(out):
        if plan_run_folder(settings) != plan:
            raise UsageError("another run changed the output folder meanwhile; run the command again", out)
        if plan.mode != "replace":
            _prepare(out, plan, run_info)
            state.wait_for_everyone()
            yield out
            return
        with staged_folder(out) as staging:
            _prepare(staging, plan, run_info)
            _shared(str(staging), state)
            yield staging


def save_final_model(model: SentenceTransformer, folder: Path) -> None:
    """Save the model into a hidden folder inside ``folder``, then move each of its entries into place (beside
    ``checkpoints/``, ``run.json`` and the marker, which stay)."""
    tmp = Path(tempfile.mkdtemp(prefix=".final-", dir=folder))
    try:
        model.save(str(tmp))
        for entry in tmp.iterdir():
            target = folder / entry.name
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            os.replace(entry, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
