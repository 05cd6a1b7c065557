"""load_parallel_qa: which reader a name or path goes to, and the named sets given as local copies."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from hybrid_plugin.data import load_parallel_qa
from hybrid_plugin.errors import DataError, UsageError


def test_named_set_missing_file(tiny_folder):
    with pytest.raises(DataError, match="missing file ar.json"):
        load_parallel_qa("xquad-r", data=tiny_folder)


def test_named_set_wrong_checksum(tmp_path, shared_data):
    folder = tmp_path / "copy"
    shutil.copytree(shared_data / "mlqa-r", folder)
    (folder / "de.json").chmod(0o644)
    (folder / "de.json").write_text("{}")
    with pytest.raises(DataError, match="de.json: is not the published mlqa-r file"):
        load_parallel_qa("mlqa-r", data=folder)


def test_unknown_dataset():
    with pytest.raises(UsageError, match="unknown dataset 'squad-r'"):
        load_parallel_qa("squad-r")


def test_each_source_goes_to_its_reader(tiny_folder, tmp_path):
    assert load_parallel_qa(tiny_folder).name == "tiny"
    assert load_parallel_qa(str(tiny_folder), languages=["en", "de"]).languages == ("en", "de")
    path = tmp_path / "mine.jsonl"
    entry = {"question": "Q", "passage": "P"}
    path.write_text(json.dumps({"id": "a", "languages": {"en": entry, "de": entry}}) + "\n")
    assert load_parallel_qa(path).name == "mine"
    with pytest.raises(UsageError, match=r"--data is for the named sets \(xquad-r, mlqa-r, afriqa"):
        load_parallel_qa(path, data=tiny_folder)
    with pytest.raises(UsageError, match="has no language 'fr'"):
        load_parallel_qa(tiny_folder, languages=["fr"])
    with pytest.raises(UsageError, match="unknown dataset"):
        load_parallel_qa(tmp_path / "mine.txt")


@pytest.mark.parametrize("first", ["hybrid_plugin.pyserini.prepared", "hybrid_plugin.data.collection",
                                   "hybrid_plugin.data.loading", "hybrid_plugin.pyserini", "hybrid_plugin.data"])
def test_every_import_order_works(first):
    code = (f"import {first}\nfrom hybrid_plugin.data import load_parallel_qa\n"
            "from hybrid_plugin.pyserini.prepared import read_prepared\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
