from __future__ import annotations

import json

import pytest

from hybrid_plugin.cli import main
from hybrid_plugin.errors import UsageError
from hybrid_plugin.files import MARKER
from hybrid_plugin.perturb.collection import perturb_collection
from hybrid_plugin.perturb.kinds import Perturbation
from hybrid_plugin.perturb.topics import PERTURBATION_FILE, write_perturbed_topics
from hybrid_plugin.pyserini.prepared import prepare, read_prepared, read_topics


def test_topics_are_the_perturbed_questions_in_prepare_s_layout(xquad_sample, tmp_path):
    qa = xquad_sample.select_languages(["en", "th", "zh"]).limit(12)
    p = Perturbation("codeswitch", 0.5, 2)
    written = write_perturbed_topics(qa, p, tmp_path / "out")
    expected, _ = perturb_collection(qa, p)
    for lang in qa.languages:
        assert written.topics[lang] == tmp_path / "out" / "topics" / f"{qa.name}.{lang}.tsv"
        assert read_topics(written.topics[lang]) == {q: " ".join(t.split()) for q, t in
                                                     expected.questions[lang].items()}
    record = json.loads((tmp_path / "out" / PERTURBATION_FILE).read_text(encoding="utf-8"))
    assert Perturbation.from_record(record["perturbation"]) == p
    assert record["dataset"]["checksum"] == qa.checksum and set(record["files"]) == {
        f"topics/{qa.name}.{lang}.tsv" for lang in qa.languages}
    assert (tmp_path / "out" / MARKER).is_file()


def test_perturbed_topics_replace_prepare_s_topics(xquad_sample, tmp_path):
    """A prepared folder whose topics are the perturbed ones reads back as the perturbed collection."""
    qa = xquad_sample.select_languages(["de", "ru"]).limit(8)
    p = Perturbation("keyboard", 0.2, 0)
    prepare(qa, tmp_path / "prepared")
    written = write_perturbed_topics(qa, p, tmp_path / "perturbed")
    for lang in qa.languages:
        (tmp_path / "prepared" / "topics" / written.topics[lang].name).write_bytes(written.topics[lang].read_bytes())
    expected, _ = perturb_collection(qa, p)
    assert read_prepared(tmp_path / "prepared").questions == {
        lang: {q: " ".join(t.split()) for q, t in expected.questions[lang].items()} for lang in qa.languages}


def test_a_folder_the_plugin_did_not_make_is_refused_untouched(xquad_sample, tmp_path):
    (tmp_path / "mine.txt").write_text("keep")
    with pytest.raises(UsageError, match="not empty and was not written by hybrid-plugin"):
        write_perturbed_topics(xquad_sample.limit(3), Perturbation("lowercase", 1.0), tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["mine.txt"]


def test_cli_writes_topics_and_needs_overwrite_to_replace(shared_data, tmp_path, capsys):
    args = ["perturb", "xquad-r", "--data", str(shared_data / "xquad-r"), "--languages", "en,hi", "--limit", "5",
            "--perturb", "diacritics:1", "--seed", "4", "--out", str(tmp_path / "out")]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "diacritics:1 (seed 4)" in out and "topics/xquad-r.hi.tsv" in out
    assert main(args) == 2
    assert "pass --overwrite" in capsys.readouterr().err
    assert main(args + ["--overwrite"]) == 0


@pytest.mark.parametrize("perturb, message", [("typos:2", "(0, 0.3]"), ("nope:1", "unknown"), ("typos", "KIND:LEVEL")])
def test_cli_reports_a_bad_perturbation_on_one_line(tmp_path, capsys, perturb, message):
    assert main(["perturb", "xquad-r", "--perturb", perturb, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and not (tmp_path / "o").exists()


def test_evaluate_refuses_perturb_with_bm25(tmp_path, capsys):
    assert main(["evaluate", "--dataset", "xquad-r", "--bm25", "--perturb", "typos:0.1", "--out",
                 str(tmp_path / "o")]) == 2
    assert "does not go with --bm25" in capsys.readouterr().err
