"""Downloads of the named sets: verified against their checksums, through a local HTTP server on loopback."""

from __future__ import annotations

import shutil

import pytest

from hybrid_plugin.data import DATASETS, fetch_dataset, load_parallel_qa
from hybrid_plugin.data.registry import DATA_URL_ENV, data_cache_dir
from hybrid_plugin.errors import DownloadError, UsageError
from hybrid_plugin.files import CACHE_ENV


@pytest.fixture
def server(loopback_mirror):
    """Serve a folder on 127.0.0.1; yields (base_url, served_folder) (tests/data/conftest.py)."""
    return loopback_mirror


def test_download_verified(server, shared_data, tmp_path):
    url, root = server
    shutil.copytree(shared_data / "mlqa-r", root / "mlqa-r")
    folder = fetch_dataset("mlqa-r", mirrors=[url], cache=tmp_path / "cache")
    assert sorted(p.name for p in folder.glob("*.json")) == [f"{lang}.json" for lang in DATASETS["mlqa-r"].languages]
    assert not list(folder.glob(".*part"))
    assert not list(folder.glob(".*tmp"))
    qa = load_parallel_qa("mlqa-r", data=folder)
    assert qa.num_candidates() == 20534


def test_download_checksum_mismatch_leaves_nothing(server, shared_data, tmp_path):
    url, root = server
    shutil.copytree(shared_data / "mlqa-r", root / "mlqa-r")
    (root / "mlqa-r" / "ar.json").chmod(0o644)
    (root / "mlqa-r" / "ar.json").write_text('{"data": []}')
    cache = tmp_path / "cache"
    with pytest.raises(DownloadError, match="could not download ar.json: .*checksum mismatch: expected sha256 2132fb"):
        fetch_dataset("mlqa-r", mirrors=[url], cache=cache)
    assert list((cache / "mlqa-r").iterdir()) == []


def test_download_tries_next_mirror(server, shared_data, tmp_path):
    url, root = server
    shutil.copytree(shared_data / "mlqa-r", root / "good" / "mlqa-r")
    folder = fetch_dataset("mlqa-r", mirrors=[f"{url}/missing", f"{url}/good"], cache=tmp_path / "cache")
    assert (folder / "zh.json").is_file()


def test_a_mirror_that_is_not_a_url_is_one_error(tmp_path):
    with pytest.raises(DownloadError, match=r"could not download ar\.json: not-a-url/mlqa-r/ar\.json: unknown url"):
        fetch_dataset("mlqa-r", mirrors=["not-a-url"], cache=tmp_path / "cache")


def test_release_addresses_are_pinned():
    assert DATASETS["mlqa-r"].urls("de.json", None)[-1] == (
        "https://raw.githubusercontent.com/google-research-datasets/lareqa/"
        "354d67d1cd066854cdfbf5ad0e6105528976141d/mlqa-r/de.json"
    )


def test_the_mirror_of_the_environment_comes_first(monkeypatch):
    monkeypatch.setenv(DATA_URL_ENV, "http://mirror.example/sets/")
    urls = DATASETS["xquad-r"].urls("en.json")
    assert urls[0] == "http://mirror.example/sets/xquad-r/en.json" and len(urls) == 2


def test_cache_folder_and_unknown_names(monkeypatch, tmp_path):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    assert data_cache_dir() == tmp_path / "data"
    with pytest.raises(UsageError, match="unknown named set 'squad-r': expected one of xquad-r, mlqa-r"):
        fetch_dataset("squad-r")
