"""Output folders every command may not use, and a disk that fills up (issue #12, promises 1 and 4): ``--out`` that
is a file, a non-empty folder the plugin did not make (``--overwrite`` or not), a folder holding git-tracked files,
``--out .`` in a prepared project, an unwritable folder, and a full disk. After each: exit status 2, one line, no
traceback, no byte of what was there changed, no staging folder or temporary file left."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from faultkit import Outcome, assert_refused, assert_unchanged, leftovers, run_batch, run_main, snapshot

COMMANDS = ("prepare", "evaluate", "train", "export", "report", "reproduce", "reproduce-check")
REPLACING = ("evaluate", "train", "export")  # commands that own (and with --overwrite replace) their folder


def _calls(commands: dict[str, list[str]], made, root: Path):
    """``argv(command, out, *more)``: the command's small call writing to ``out`` (``reproduce-check``: its
    workdir, for a one-condition record written under ``root``)."""
    record = root / "record" / "record.yaml"
    record.parent.mkdir()
    record.write_text("conditions:\n  - name: xquad-r.base.en-en\n    encoder: encoders/base\n    commands:\n"
                      "      - python -m pyserini.encode input --corpus c.jsonl output --embeddings idx --to-faiss\n"
                      "    scores: {AP@1000: 0.5}\n")

    def argv(command: str, out: Path, *more: str) -> list:
        if command == "report":
            return ["report", made("evaluate"), "--out", out, *more]
        if command == "reproduce-check":
            return ["reproduce", "--check", record, "--workdir", out, *more]
        return [*commands[command], out, *more]

    return argv


@pytest.fixture()
def call(commands, made, tmp_path):
    """:func:`_calls` under ``tmp_path``."""
    return _calls(commands, made, tmp_path)


def _refused_and_untouched(outcome: Outcome, before: dict, *roots: Path, needle: str | None = None) -> None:
    assert_refused(outcome, needle)
    assert_unchanged(before, *roots)
    assert not leftovers(*roots)


@pytest.mark.parametrize("command", COMMANDS)
def test_an_out_that_is_a_file_is_refused(command, call, tmp_path):
    target = tmp_path / "a-file"
    target.write_text("mine\n")
    before = snapshot(tmp_path)
    _refused_and_untouched(run_main(call(command, target)), before, tmp_path, needle=str(target))


@pytest.mark.parametrize("command, overwrite", [(c, o) for c in (*REPLACING, "reproduce") for o in (False, True)
                                                if not (c == "reproduce" and o)],
                         ids=lambda v: {True: "overwrite", False: "plain"}.get(v, v))
def test_a_folder_the_plugin_did_not_make_is_never_touched(command, overwrite, call, tmp_path):
    folder = tmp_path / "mine"
    (folder / "runs").mkdir(parents=True)
    (folder / "notes.txt").write_text("my notes\n")
    (folder / "runs" / "en-en.txt").write_text("my run\n")
    before = snapshot(tmp_path)
    outcome = run_main(call(command, folder, *(["--overwrite"] if overwrite else [])))
    _refused_and_untouched(outcome, before, tmp_path, needle="not written by hybrid-plugin")


@pytest.mark.parametrize("command", (*REPLACING, "reproduce"))
def test_a_folder_holding_git_tracked_files_is_never_replaced(command, call, tmp_path):
    """Even one the plugin once made (its marker inside), even with --overwrite."""
    folder = tmp_path / "project" / "qrels"
    folder.mkdir(parents=True)
    (folder / ".hybrid-plugin.json").write_text('{"written_by": "hybrid-plugin"}\n')
    (folder / "xquad-r.en.txt").write_text("q1 0 en-0-0 1\n")
    subprocess.run(["git", "init", "-q", str(tmp_path / "project")], check=True)
    subprocess.run(["git", "-C", str(tmp_path / "project"), "add", "qrels"], check=True)
    before = snapshot(folder)
    outcome = run_main(call(command, folder, *(["--overwrite"] if command != "reproduce" else [])))
    _refused_and_untouched(outcome, before, folder, needle="tracked by git")


@pytest.fixture()
def project(tmp_path, commands, monkeypatch) -> Path:
    """A prepared project folder (topics/, corpus/, qrels/, checksums/, a README), the working folder."""
    root = tmp_path / "project"
    root.mkdir()
    (root / "README.md").write_text("my project\n")
    assert run_main([*commands["prepare"], root]).status == 0
    monkeypatch.chdir(root)
    return root


@pytest.mark.parametrize("command", (*REPLACING, "reproduce"))
def test_out_dot_in_a_prepared_project_removes_nothing(command, call, project):
    before = snapshot(project)
    outcome = run_main(call(command, Path("."), *(["--overwrite"] if command != "reproduce" else [])))
    _refused_and_untouched(outcome, before, project, needle="not written by hybrid-plugin")


def test_prepare_again_in_its_project_changes_nothing(call, project):
    before = snapshot(project)
    assert run_main(call("prepare", Path("."), "--overwrite")).status == 0
    assert_unchanged(before, project)


@pytest.mark.parametrize("command", REPLACING)
def test_out_dot_in_an_empty_working_folder_is_refused(command, call, tmp_path, monkeypatch):
    """The output is built beside its folder and swapped in: the working folder cannot be swapped (train writes in
    place and may use it)."""
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.chdir(empty)
    before = snapshot(tmp_path)
    outcome = run_main(call(command, Path("."), *(["--overwrite"] if command == "train" else [])))
    if command == "train":  # --overwrite of an empty folder: a fresh run, written in place
        assert outcome.status == 0, outcome.err[-2000:]
        assert (empty / "training.json").is_file() and not leftovers(tmp_path)
    else:
        _refused_and_untouched(outcome, before, tmp_path, needle="working folder")


# ------------------------------------------------------------------------------- a folder that cannot be written


def _can_unshare() -> bool:
    """Whether this test can make a private mount namespace (root with ``unshare``); ``FAULTS_NO_MOUNTS=1`` says no,
    to run the fall-backs."""
    if os.geteuid() != 0 or not shutil.which("unshare") or os.environ.get("FAULTS_NO_MOUNTS"):
        return False
    return subprocess.run(["unshare", "--mount", "true"], capture_output=True).returncode == 0


def _as_nobody() -> None:
    os.setgid(65534)
    os.setuid(65534)


def _runs_as_nobody() -> bool:
    try:
        return subprocess.run([sys.executable, "-c", "import hybrid_plugin"], preexec_fn=_as_nobody,
                              capture_output=True, cwd="/").returncode == 0
    except OSError:
        return False


def _read_only(folder: Path) -> dict:
    """How a batch makes ``folder`` unwritable: a read-only bind mount in a private mount namespace (root with
    unshare), else another user (root whose Python that user can run), else the folder's mode (not root)."""
    if _can_unshare():
        return {"prefix": ["unshare", "--mount"],
                "before": [f"mount --bind '{folder}' '{folder}'", f"mount -o remount,bind,ro '{folder}' '{folder}'"],
                "after": [f"umount '{folder}'"]}
    if os.geteuid() == 0 and _runs_as_nobody():
        for path in [folder, *folder.parents]:
            path.chmod(path.stat().st_mode | 0o005)
        return {"preexec_fn": _as_nobody}
    if os.geteuid() != 0:
        folder.chmod(0o555)
        return {}
    pytest.skip("root without unshare (a private mount namespace) and whose Python the user nobody cannot run: "
                "no way to make a folder this test cannot write")


UNWRITABLE = (*COMMANDS, "evaluate-overwrite")


@pytest.fixture(scope="module")
def unwritable(tmp_path_factory, made, commands, env):
    """Every command run once against a folder it cannot write: (outcomes by command, snapshot before, folder)."""
    root = tmp_path_factory.mktemp("unwritable")
    locked = root / "locked"
    locked.mkdir()
    (locked / "kept.txt").write_text("kept\n")
    shutil.copytree(made("evaluate"), locked / "earlier")
    argv = _calls(commands, made, root)
    cases = {command: argv(command, locked / "new") for command in COMMANDS}
    cases["evaluate-overwrite"] = argv("evaluate", locked / "earlier", "--overwrite")
    way = _read_only(locked)
    before = snapshot(locked)
    batch = [{"argv": [str(a) for a in call], "before": way.get("before", []), "after": way.get("after", [])}
             for call in cases.values()]
    outcomes = run_batch(batch, root, env=env, prefix=way.get("prefix", []),
                         **({"preexec_fn": way["preexec_fn"]} if "preexec_fn" in way else {}))
    locked.chmod(0o755)
    return dict(zip(cases, outcomes)), before, locked


@pytest.mark.slow
@pytest.mark.parametrize("command", UNWRITABLE)
def test_an_unwritable_folder_is_one_line(command, unwritable):
    outcomes, before, locked = unwritable
    assert_refused(outcomes[command], "not writable|Read-only file system|Permission denied")
    assert_unchanged(before, locked)
    assert not leftovers(locked)


# ------------------------------------------------------------------------------- a full disk

FULL = {  # command -> (bytes left free on the disk when it starts, else the largest file it may write): less
    "prepare": (0, 4096), "evaluate": (256 << 10, 4096), "train": (256 << 10, 4096), "export": (64 << 10, 4096),
    "report": (0, 512),
}


@pytest.fixture(scope="module")
def full_disk(tmp_path_factory, made, commands, env):
    """Each command replaces its earlier output (``--overwrite``) on a disk that fills up meanwhile: a small
    tmpfs in a private mount namespace (root with unshare), else a file-size limit (writes fail with EFBIG).
    Returns (outcomes by command, folder of what each left)."""
    root = tmp_path_factory.mktemp("full-disk")
    copies, batch, argv = root / "after", [], _calls(commands, made, root)
    for command, (free, largest) in FULL.items():
        overwrite = ["--overwrite"] if command != "report" else []
        if _can_unshare():
            disk = root / f"disk-{command}"
            disk.mkdir()
            (copies / command).mkdir(parents=True)
            avail = f"$(df --output=avail -B1 '{disk}' | tail -1)"
            batch.append({
                "argv": [str(a) for a in argv(command, disk / "out", *overwrite)],
                "before": [f"mount -t tmpfs -o size=32m tmpfs '{disk}'", f"cp -a '{made(command)}' '{disk}/out'",
                           f"fallocate -l $(( {avail} - {free} )) '{disk}/filler'"],
                "after": [f"find '{disk}' -mindepth 1 -maxdepth 1 ! -name filler -exec cp -a {{}} '{copies / command}' \\;",
                          f"umount '{disk}'"],
            })
        else:
            shutil.copytree(made(command), copies / command / "out")
            batch.append({"argv": [str(a) for a in argv(command, copies / command / "out", *overwrite)],
                          "file_size_limit": largest})
    outcomes = run_batch(batch, root, env=env, prefix=["unshare", "--mount"] if _can_unshare() else [])
    return dict(zip(FULL, outcomes)), copies


@pytest.mark.slow
@pytest.mark.parametrize("command", FULL)
def test_a_full_disk_is_one_line_and_keeps_the_earlier_output(command, full_disk, made):
    outcomes, copies = full_disk
    assert_refused(outcomes[command], "No space left on device|File too large")
    assert_unchanged(snapshot(made(command)), copies / command / "out")
    assert not leftovers(copies / command)
