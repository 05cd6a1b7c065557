"""Bad input of every reader and every numeric option, across the commands that read it (issue #12, promises 2-4):
one row per case. Each case runs the command line in this process against a folder that already holds an
earlier output of the plugin, and checks exit status 2, one line ``hybrid-plugin: error: ...`` without a
traceback, and that no byte of anything that was there changed.

The readers' own tables (which file, line and field a message names) live beside the readers
(``tests/data``, ``tests/pyserini/test_prepared.py``, ``tests/analysis/test_report_command.py``,
``tests/study/test_record.py``); a mistyped ``--model`` is ``tests/models/test_model_loading.py``'s
``test_a_mistyped_model_is_the_same_one_line_error_in_every_command``. Here: the promises of the command line.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from faultkit import assert_refused, assert_unchanged, leftovers, run_main, snapshot
from hybrid_plugin.data import load_parallel_qa
from hybrid_plugin.pyserini.prepared import prepare

# ------------------------------------------------------------------------------------------- data files


def _item(qid: object = "q1", languages: dict | None = None) -> str:
    languages = languages or {"en": {"question": "Who wrote it?", "passage": "Goethe wrote it."},
                              "de": {"question": "Wer schrieb es?", "passage": "Goethe schrieb es."}}
    return json.dumps({"id": qid, "languages": languages}) + "\n"


def _one_language() -> str:
    return "".join(_item(q, {"en": {"question": f"Who {q}?", "passage": f"Passage {q}."}}) for q in ("a", "b"))


JSONL = {  # the parallel JSONL reader
    "jsonl-malformed": (b'{"id": "q1", "languages": {\n', "malformed JSON"),
    "jsonl-not-utf8": (b'{"id": "q\xff\xfe1", "languages": {}}\n', "not UTF-8"),
    "jsonl-binary": (bytes(range(256)), "not UTF-8"),
    "jsonl-language-escapes": (_item(languages={"x/../../../NAME": {"question": "Q?", "passage": "P."},
                                                "de": {"question": "F?", "passage": "P."}}), "is not allowed"),
    "jsonl-language-dotdot": (_item(languages={"..": {"question": "Q?", "passage": "P."},
                                               "de": {"question": "F?", "passage": "P."}}), "is not allowed"),
    "jsonl-id-with-tab": (_item("q\t1"), "is not allowed"),
    "jsonl-id-null": (_item(None), '"id" must be'),
    "jsonl-id-float": (_item(1.5), '"id" must be'),
    "jsonl-not-an-object": (b"[1, 2]\n", "expected an object"),
    "jsonl-empty": (b"", "holds no items"),
    "jsonl-one-language": (_one_language(), "2 languages|two languages"),
}

PREPARED = {  # the prepared-folder readers: (file to spoil, its new bytes)
    "prepared-qrels-binary": ("qrels/mine.en.txt", bytes(range(256)), "not UTF-8"),
    "prepared-qrels-nul": ("qrels/mine.en.txt", b"q1\x00 0 en-0-0 1\n", "is not allowed"),
    "prepared-qrels-float-relevance": ("qrels/mine.en.txt", b"q1 0 en-0-0 1.5\n", "expected 'qid 0 docid relevance'"),
    "prepared-topics-binary": ("topics/mine.en.tsv", b"\x00\x01\xff\xfe\n", "not UTF-8"),
    "prepared-topics-no-tab": ("topics/mine.en.tsv", b"q1 Who wrote it?\n", "expected qid<TAB>question"),
    "prepared-corpus-integer-id": ("corpus/mine/en.jsonl", b'{"id": 1, "contents": "x"}\n', "must be a string"),
    "prepared-corpus-malformed": ("corpus/mine/en.jsonl", b'{"id": \n', "malformed JSON"),
    "prepared-one-language": ("topics/mine.de.tsv", None, "2 languages|two languages"),
}

LAREQA = {  # the LAReQA folder reader: en.json as published, de.json spoiled
    "lareqa-malformed": (b'{"data": [', "malformed JSON"),
    "lareqa-not-utf8": (b'\xff\xfe{"data": []}', "not UTF-8"),
    "lareqa-not-squad": (b'{"version": 1}', "data"),
}


def _collection(kind: str, case: str, root: Path, xquad_dir: Path) -> tuple[Path, str]:
    """Write the bad collection of ``case`` under ``root``; its path and the expected message (a pattern)."""
    if kind == "jsonl":
        content, needle = JSONL[case]
        path = root / "mine.jsonl"
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
        return path, needle
    if kind == "prepared":
        spoiled, content, needle = PREPARED[case]
        good = root / "mine.jsonl"
        good.write_text(_item("q1") + _item("q2", {"en": {"question": "Where?", "passage": "In Weimar."},
                                                   "de": {"question": "Wo?", "passage": "In Weimar."}}))
        prepare(load_parallel_qa(good), root / "prepared")
        good.unlink()
        target = root / "prepared" / spoiled
        if content is None:
            target.unlink()
            for other in ("corpus/mine/de.jsonl", "qrels/mine.de.txt"):
                (root / "prepared" / other).unlink()
        else:
            target.write_bytes(content)
        return root / "prepared", needle
    content, needle = LAREQA[case]
    folder = root / "lareqa"
    folder.mkdir()
    (folder / "en.json").symlink_to(xquad_dir / "en.json")
    (folder / "de.json").write_bytes(content)
    return folder, needle


def _reading(command: str, collection: Path, out: Path, model: Path) -> list[str]:
    return {
        "prepare": ["prepare", collection, "--out", out],
        "evaluate": ["evaluate", "--dataset", collection, "--model", model, "--out", out, "--overwrite", "-q"],
        "train": ["train", "--train", collection, "--model", model, "--out", out, "--overwrite", "--max-steps", "1",
                  "--batch-size", "1"],
    }[command]


DATA_CASES = [("jsonl", c) for c in JSONL] + [("prepared", c) for c in PREPARED] + [("lareqa", c) for c in LAREQA]


@pytest.mark.parametrize("command", ["prepare", "evaluate", "train"])
@pytest.mark.parametrize("kind, case", DATA_CASES, ids=[case for _, case in DATA_CASES])
def test_bad_data_is_one_line_and_changes_nothing(kind, case, command, tmp_path, earlier, xquad_dir,
                                                  tiny_xquad_model):
    (tmp_path / "input").mkdir()
    collection, needle = _collection(kind, case, tmp_path / "input", xquad_dir)
    before = snapshot(tmp_path)
    outcome = run_main(_reading(command, collection, earlier, tiny_xquad_model))
    assert_refused(outcome, needle)
    assert_unchanged(before, tmp_path)
    assert not (tmp_path.parent / "NAME.tsv").exists() and not leftovers(tmp_path)


def test_a_spoiled_named_set_is_refused_by_reproduce(tmp_path, xquad_dir, shared_data, commands):
    """--data-root with an XQuAD-R file that is not the published one (the study's only reader of data). Every
    collection is read before the study folder is made: nothing is written."""
    root = tmp_path / "data"
    (root / "xquad-r").mkdir(parents=True)
    for path in xquad_dir.iterdir():
        (root / "xquad-r" / path.name).symlink_to(path)
    (root / "mlqa-r").symlink_to(shared_data / "mlqa-r")
    (root / "xquad-r" / "de.json").unlink()
    (root / "xquad-r" / "de.json").write_bytes(b'{"data": [')
    argv = [*commands["reproduce"], tmp_path / "study"]
    argv[argv.index("--data-root") + 1] = root
    before = snapshot(root)
    assert_refused(run_main(argv), "de.json")
    assert_unchanged(before, root)
    assert not (tmp_path / "study").exists()


# ------------------------------------------------------------------------------------------- options

TRAIN_NUMBERS = ("--lr", "--weight-decay", "--warmup-ratio", "--epochs", "--alpha", "--max-steps", "--batch-size",
                 "--max-seq-length", "--mini-batch-size", "--save-steps", "--logging-steps", "--limit",
                 "--eval-limit", "--eval-steps", "--seed")
EVALUATE_NUMBERS = ("--batch-size", "--depth", "--workers", "--limit")
REPRODUCE_NUMBERS = ("--alphas", "--seeds", "--max-steps", "--batch-size", "--eval-limit", "--train-limit")
NONSENSE = ("nan", "inf", "-inf", "-1")

OPTION_CASES = [(command, option, value) for command, options in (("train", TRAIN_NUMBERS),
                                                                  ("evaluate", EVALUATE_NUMBERS),
                                                                  ("reproduce", REPRODUCE_NUMBERS))
                for option in options for value in NONSENSE]
OPTION_CASES += [("train", "--max-seq-length", str(10**20)), ("train", "--device", "cuda:7"),
                 ("evaluate", "--device", "cuda:7"), ("evaluate", "--languages", "en"),
                 ("train", "--languages", "en")]


def _options_call(command: str, option: str, commands: dict[str, list[str]], out: Path) -> list[str]:
    """The command's small call without the option a row sets (``--epochs`` clashes with ``--max-steps``)."""
    argv, base, drop = list(commands[command]), [], {option, "--max-steps" if option == "--epochs" else option}
    while argv:
        arg = argv.pop(0)
        if arg in drop:
            argv.pop(0)
        else:
            base.append(arg)
    return [*base, out, *(["--overwrite"] if command != "reproduce" else [])]


@pytest.mark.parametrize("command, option, value", OPTION_CASES,
                         ids=[f"{c}{o}={v}" for c, o, v in OPTION_CASES])
def test_a_nonsense_number_is_one_line_and_changes_nothing(command, option, value, tmp_path, earlier, commands):
    out = tmp_path / "study" if command == "reproduce" else earlier
    before = snapshot(tmp_path)
    outcome = run_main([*_options_call(command, option, commands, out), f"{option}={value}"])
    assert_refused(outcome, {"--languages": "languages", "--device": "cuda:7"}.get(option, option))
    assert_unchanged(before, tmp_path)


# ------------------------------------------------------------------------------------------- report, record

SPOILED = {  # (the command that reads it, the case) -> the file's bytes; None: no such file
    ("report", "results-not-json"): b"{not json",
    ("report", "results-not-utf8"): b"\xff\xfe{}",
    ("report", "results-binary"): bytes(range(256)),
    ("report", "results-a-list"): b"[1, 2]",
    ("report", "results-missing-fields"): b'{"model": {"name": "m"}}',
    ("report", "results-missing"): None,
    ("check", "record-yaml-syntax"): b"conditions: [\n",
    ("check", "record-not-utf8"): b"\xff\xfeconditions: []\n",
    ("check", "record-a-list"): b"- 1\n- 2\n",
    ("check", "record-conditions-a-number"): b"conditions: 3\n",
    ("check", "record-condition-without-encoder"): b"conditions:\n  - name: x\n",
    ("check", "record-missing"): None,
}


@pytest.mark.parametrize("reader, case", list(SPOILED), ids=[case for _, case in SPOILED])
def test_a_malformed_results_file_or_record_changes_nothing(reader, case, tmp_path):
    """``report``'s results.json and ``reproduce --check``'s record.yaml; the output folder (the check's workdir)
    holds an earlier leaderboard."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "leaderboard.md").write_text("an earlier leaderboard\n")
    bad = tmp_path / ("results.json" if reader == "report" else "record.yaml")
    if SPOILED[reader, case] is not None:
        bad.write_bytes(SPOILED[reader, case])
    argv = ["report", bad, "--out", out] if reader == "report" else ["reproduce", "--check", bad, "--workdir", out]
    before = snapshot(tmp_path)
    assert_refused(run_main(argv), bad.name)
    assert_unchanged(before, tmp_path)


@pytest.mark.parametrize("extra, needle", [
    (["--eval", "xquad-r", "--eval-pairs", "sample:x"], "sample"),
    (["--eval-pairs", "sample:3"], "go with --eval DATASET"),
])
def test_a_bad_training_time_pair_choice_is_refused_before_training(tmp_path, shared_data, extra, needle):
    out = tmp_path / "run"
    outcome = run_main(["train", "--train", "xquad-r", "--data", str(shared_data / "xquad-r"), "--out", str(out),
                        "--max-steps", "1", "--eval-data", str(shared_data / "xquad-r"), *extra]
                       if extra[0] == "--eval" else
                       ["train", "--train", "xquad-r", "--data", str(shared_data / "xquad-r"), "--out", str(out),
                        "--max-steps", "1", *extra])
    assert_refused(outcome, needle)
    assert not out.exists()
