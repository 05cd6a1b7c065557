"""``hybrid-plugin debias`` and ``evaluate --debias``: the folder it writes, the projected model, the commands it
prints, and one-line errors (exit status 2) checked before anything is loaded or written."""

from __future__ import annotations

import json

import pytest

from hybrid_plugin.cli import SUBCOMMANDS, main
from hybrid_plugin.debias.transform import LanguageDebias
from hybrid_plugin.files import MARKER


@pytest.fixture()
def fit_args(tiny_model, shared_data, isolated_cache):
    return ["debias", "--model", str(tiny_model), "--fit-on", "mlqa-r", "--data", str(shared_data / "mlqa-r"),
            "--languages", "en,de,es", "--limit", "40", "--per-language", "20", "-q"]


def test_debias_writes_a_transform_and_a_projected_model_that_evaluate_uses(fit_args, tiny_model, shared_data,
                                                                            tmp_path, isolated_cache, capsys):
    assert "debias" in SUBCOMMANDS
    out, model_out = tmp_path / "lsar", tmp_path / "projected"
    assert main([*fit_args, "--method", "lsar", "--rank", "2", "--out", str(out), "--into-model", str(model_out)]) == 0
    printed = capsys.readouterr().out
    debias = LanguageDebias.load(out)
    assert (debias.method, debias.rank, debias.source.dataset, debias.source.per_language) == ("lsar", 2, "mlqa-r", 20)
    assert (out / MARKER).is_file() and (model_out / "modules.json").is_file()
    assert f"--debias {out}" in printed and debias.digest[:12] in printed
    evaluation = tmp_path / "evaluation"
    assert main(["evaluate", "--dataset", "xquad-r", "--data", str(shared_data / "xquad-r"), "--languages", "en,de",
                 "--limit", "5", "--model", str(tiny_model), "--debias", str(out), "--out", str(evaluation),
                 "-q"]) == 0
    results = json.loads((evaluation / "results.json").read_text())
    assert results["settings"]["debias"]["digest"] == debias.digest
    assert (evaluation / "debias" / "debias.json").is_file()


@pytest.mark.parametrize(("extra", "message"), [
    (["--method", "center", "--into-model", "m"], "--into-model needs --method lsar"),
    (["--method", "center", "--rank", "2"], "--rank is for lir and lsar"),
    (["--method", "lsar", "--rank", "40"], "lsar rank 40 is more than the 4 directions"),
    (["--languages", "en,fr"], "mlqa-r has no language 'fr'"),
])
def test_debias_errors_are_one_line(fit_args, tmp_path, capsys, extra, message):
    at = fit_args.index("--languages")
    args = [*fit_args[:at], *fit_args[at + 2:]] if "--languages" in extra else fit_args  # --languages once
    assert main([*args, *extra, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("extra", "message"), [
    (["--seed", "-1"], "--seed: expected an integer from 0 to 4294967295, got -1"),
    (["--per-language", "0"], "--per-language: expected a positive integer, got 0"),
    (["--method", "pca"], "--method: invalid choice: 'pca'"),
])
def test_debias_bad_options_are_one_line(fit_args, tmp_path, capsys, extra, message):
    assert main([*fit_args, *extra, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_debias_refuses_a_folder_it_did_not_make(fit_args, tmp_path, capsys):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "notes.txt").write_text("mine")
    assert main([*fit_args, "--out", str(tmp_path / "out")]) == 2
    assert "was not written by hybrid-plugin" in capsys.readouterr().err
    assert (tmp_path / "out" / "notes.txt").read_text() == "mine"


def test_evaluate_debias_errors_are_one_line(tiny_model, shared_data, tmp_path, capsys):
    base = ["evaluate", "--dataset", "xquad-r", "--data", str(shared_data / "xquad-r"), "--limit", "3",
            "--out", str(tmp_path / "evaluation")]
    assert main([*base, "--bm25", "--debias", str(tmp_path)]) == 2
    assert "BM25 (--bm25) has none" in capsys.readouterr().err
    assert main([*base, "--model", str(tiny_model), "--debias", str(tmp_path / "none")]) == 2
    err = capsys.readouterr().err
    assert "no such folder" in err and err.count("\n") == 1
    assert not (tmp_path / "evaluation").exists()


def test_evaluate_checks_the_debias_folder_before_loading_any_data(tmp_path, capsys):
    """A missing --debias folder is named before the collection is read (here: a named set with no local copy
    and no network would otherwise fail first, on its download)."""
    from hybrid_plugin.cli import main

    code = main(["evaluate", "--dataset", "xquad-r", "--data", str(tmp_path / "no-data"), "--debias",
                 str(tmp_path / "missing"), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "missing: no such folder" in err[0]
    assert not (tmp_path / "out").exists()
