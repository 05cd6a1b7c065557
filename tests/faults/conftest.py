"""Fixtures of the fault-injection suite: a plugin cache of its own, the environment of its subprocesses, the
XQuAD-R slice every command runs on, and an earlier output of each command to keep intact."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import faultkit
from hybrid_plugin.files import CACHE_ENV, cache_dir, claim_output

LIMIT = ["--limit", "5"]


@pytest.fixture(scope="session")
def fault_cache(tmp_path_factory) -> Path:
    """A plugin cache for the suite (embeddings land here), sharing the default model's build when there is one."""
    root = tmp_path_factory.mktemp("fault-cache")
    real_models = cache_dir() / "models"
    if real_models.is_dir():
        (root / "models").symlink_to(real_models, target_is_directory=True)
    return root


@pytest.fixture(autouse=True)
def _suite_cache(fault_cache, monkeypatch):
    monkeypatch.setenv(CACHE_ENV, str(fault_cache))
    yield
    faultkit.reset_plugin_logging()


@pytest.fixture(scope="session")
def env(fault_cache) -> dict[str, str]:
    """The environment of the suite's subprocesses."""
    return faultkit.environment(fault_cache)


@pytest.fixture(scope="session")
def xquad_dir(shared_data) -> Path:
    return shared_data / "xquad-r"


@pytest.fixture(scope="session")
def commands(xquad_dir, shared_data, tiny_xquad_model) -> dict[str, list[str]]:
    """A small valid call of every command but its output: ``argv + [OUT]`` (``--out OUT`` where it is an
    option); tiny model, the first five XQuAD-R items."""
    data = ["--data", str(xquad_dir), *LIMIT]
    model = ["--model", str(tiny_xquad_model)]
    return {
        "prepare": ["prepare", "xquad-r", *data, "--out"],
        "evaluate": ["evaluate", "--dataset", "xquad-r", *data, *model, "-q", "--out"],
        "train": ["train", "--train", "xquad-r", *data, *model, "--max-steps", "2", "--batch-size", "4", "--out"],
        "export": ["export", str(tiny_xquad_model), "--no-verify"],
        "reproduce": ["reproduce", *model, "--data-root", str(shared_data), "--max-steps", "2", "--batch-size", "4",
                      "--eval-limit", "5", "--train-limit", "5", "--alphas", "1", "--no-export", "--out"],
    }


def earlier_output(folder: Path, command: str) -> Path:
    """A folder the plugin made (its marker) holding an earlier result: what ``--overwrite`` may replace and a
    failing run must leave as it was."""
    claim_output(folder, command)
    (folder / "results.json").write_text(json.dumps({"earlier": True}) + "\n")
    (folder / "runs").mkdir()
    (folder / "runs" / "en-en.txt").write_text("q1 Q0 d1 1 0.500000 Faiss\n")
    return folder


@pytest.fixture()
def earlier(tmp_path) -> Path:
    """:func:`earlier_output` under ``tmp_path / "out"``."""
    return earlier_output(tmp_path / "out", "evaluate")


# ------------------------------------------------------------------------------- earlier outputs of the commands


@pytest.fixture(scope="session")
def made(tmp_path_factory, fault_cache, commands, tiny_xquad_model):
    """``made(command)``: the folder of a finished small run of ``command`` (made once per session, in this
    process): what later runs may replace and faulty ones must leave as it was, and the results an interrupted
    run must give when it is run again."""
    root, done = tmp_path_factory.mktemp("made"), {}
    calls = {
        "prepare": lambda out: [*commands["prepare"], out],
        "evaluate": lambda out: [*commands["evaluate"], out],
        "train": lambda out: [*commands["train"], out],
        "export": lambda out: [*commands["export"], out],
        "report": lambda out: ["report", made_by("evaluate"), "--out", out, "--no-paper"],
        "reproduce": lambda out: [*commands["reproduce"], out],
    }

    def made_by(command: str) -> Path:
        if command not in done:
            with pytest.MonkeyPatch.context() as patch:
                patch.setenv(CACHE_ENV, str(fault_cache))
                outcome = faultkit.run_main(calls[command](root / command))
            assert outcome.status == 0, outcome.err[-2000:]
            done[command] = root / command
        return done[command]

    return made_by
