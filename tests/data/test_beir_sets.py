"""Named BEIR sets: the archive downloaded from a loopback mirror, its MD5 checked, unpacked; a wrong checksum
refused with nothing kept. The archive is a BEIR folder the plugin wrote from XQuAD-R (BEIR's host is
unreachable here)."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest

from hybrid_plugin.data.beir import read_beir_folder
from hybrid_plugin.data.beir_convert import beir_from_parallel_qa, write_beir
from hybrid_plugin.data.beir_sets import BEIR_SETS, BEIR_URL, BeirSetSpec, fetch_beir_set
from hybrid_plugin.data.loading import load_parallel_qa
from hybrid_plugin.data.registry import DATA_URL_ENV
from hybrid_plugin.errors import DownloadError, UsageError


def zip_folder(folder: Path, name: str, target: Path) -> str:
    """Zip ``folder`` as ``<name>/...`` (BEIR's archive layout); its MD5."""
    with zipfile.ZipFile(target, "w") as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, f"{name}/{path.relative_to(folder).as_posix()}")
    return hashlib.md5(target.read_bytes(), usedforsecurity=False).hexdigest()


@pytest.fixture
def served(loopback_mirror, shared_data, tmp_path):
    """A BEIR archive ``xq.zip`` written by the plugin, on the loopback mirror; yields (url, root, md5)."""
    url, root = loopback_mirror
    qa = load_parallel_qa("xquad-r", data=shared_data / "xquad-r", languages=["en", "de"]).limit(10)
    folder = write_beir(beir_from_parallel_qa(qa), tmp_path / "src")
    return url, root, zip_folder(folder, "xq", root / "xq.zip")


def test_download_verified_and_unpacked(served, tmp_path, monkeypatch):
    url, _, md5 = served
    monkeypatch.setitem(BEIR_SETS, "xq", BeirSetSpec("xq", md5, "CC BY-SA 4.0", ("test",)))
    folder = fetch_beir_set("xq", mirrors=[url], cache=tmp_path / "cache")
    beir = read_beir_folder(folder)
    assert len(beir.queries) == 20 and beir.languages == ("en", "de")
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == ["xq"]  # the archive is not kept
    assert fetch_beir_set("xq", mirrors=["http://127.0.0.1:9/gone"], cache=tmp_path / "cache") == folder  # cached


def test_wrong_checksum_is_refused_and_nothing_kept(served, tmp_path, monkeypatch):
    url, root, md5 = served
    (root / "scifact.zip").write_bytes((root / "xq.zip").read_bytes())  # not the published archive
    cache = tmp_path / "cache"
    with pytest.raises(DownloadError, match="could not download scifact.zip: .*checksum mismatch: expected md5 "
                                            "5f7d1de60b170fc8027bb7898e2efca1, got " + md5):
        fetch_beir_set("scifact", mirrors=[url], cache=cache)
    assert not cache.exists() or list(cache.iterdir()) == []


def test_the_next_mirror_is_tried(served, tmp_path, monkeypatch):
    url, _, md5 = served
    monkeypatch.setitem(BEIR_SETS, "xq", BeirSetSpec("xq", md5, "CC BY-SA 4.0", ("test",)))
    folder = fetch_beir_set("xq", mirrors=[f"{url}/missing", url], cache=tmp_path / "cache")
    assert (folder / "qrels" / "test.tsv").is_file()


def test_release_addresses_and_names(monkeypatch):
    assert BEIR_SETS["nfcorpus"].urls()[-1] == BEIR_URL.format(name="nfcorpus") == (
        "https://public.ukp.informatik.tu-darmstadt.de/thakur/BEIR/datasets/nfcorpus.zip")
    monkeypatch.setenv(DATA_URL_ENV, "http://mirror.example/sets/")
    assert BEIR_SETS["scifact"].urls() == ["http://mirror.example/sets/scifact.zip", BEIR_URL.format(name="scifact")]
    with pytest.raises(UsageError, match="unknown BEIR set 'msmarco': expected one of scifact, nfcorpus, fiqa"):
        fetch_beir_set("msmarco")
    # BEIR's README table: https://github.com/beir-cellar/beir (Available Datasets, md5 column)
    assert {name: spec.md5 for name, spec in BEIR_SETS.items()} == {
        "scifact": "5f7d1de60b170fc8027bb7898e2efca1", "nfcorpus": "a89dba18a62ef92f7d323ec890a0d38d",
        "fiqa": "17918ed23cd04fb15047f73e6c3bd9d9", "arguana": "8ad3e3c2a5867cdced806d6503f29b99",
        "scidocs": "38121350fc3a4d2f48850f6aff52e4a9"}
