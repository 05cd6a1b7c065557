"""The named evaluation sets and their public release: addresses, pinned commits, checksums, verified downloads.

Each set is data (a :class:`DatasetSpec`): where its ``<lang>.json`` files are published and what they hash to.
A download is verified while it streams, written under a temporary name and renamed only when its SHA-256 matches;
the mirrors are tried in turn. To add a named set, add its spec to :data:`DATASETS`.

What does not live here: reading the files (:mod:`hybrid_plugin.data.lareqa`).
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from hybrid_plugin.errors import DataError, DownloadError, UsageError
from hybrid_plugin.files import atomic_write, cache_dir, sha256_file

__all__ = ["DATASETS", "DATA_URL_ENV", "DatasetSpec", "data_cache_dir", "fetch_dataset"]

logger = logging.getLogger(__name__)

DATA_URL_ENV = "HYBRID_PLUGIN_DATA_URL"
"""Environment variable naming a mirror (a base URL holding ``<name>/<lang>.json``) tried before the release."""

_LAREQA = "https://raw.githubusercontent.com/google-research-datasets/lareqa/{commit}/{folder}/{lang}.json"


@dataclass(frozen=True)
class DatasetSpec:
    """A named LAReQA set: where its files are published and what they hash to."""

    name: str
    languages: tuple[str, ...]
    commit: str
    sha256: dict[str, str]
    licence: str

    def urls(self, lang: str, mirrors: list[str] | None = None) -> list[str]:
        """Addresses of ``<lang>.json`` in the order tried.

        ``mirrors`` (base URLs holding ``<name>/<lang>.json``) replace the defaults: the mirror named by
        ``HYBRID_PLUGIN_DATA_URL`` if set, then the public release.
        """
        if mirrors is None:
            env = os.environ.get(DATA_URL_ENV)
            urls = [f"{env.rstrip('/')}/{self.name}/{lang}.json"] if env else []
            return urls + [_LAREQA.format(commit=self.commit, folder=self.name, lang=lang)]
        return [f"{m.rstrip('/')}/{self.name}/{lang}.json" for m in mirrors]


DATASETS: dict[str, DatasetSpec] = {
    "xquad-r": DatasetSpec(
        name="xquad-r",
        languages=("ar", "de", "el", "en", "es", "hi", "ru", "th", "tr", "vi", "zh"),
        commit="9bc8c7fb6dd8d01d72a05a93c2cb96882b0d299c",
        licence="CC BY-SA 4.0",
        sha256={
            "ar": "c52922d3b8ac1ae03ed5ac38647ad59870dca3dda2beefe18ecdc30729acb69d",
            "de": "16fb0f4bf4916154b585a20c24c66074591c9718a1affe764ff4697572328949",
            "el": "163fd43ee785a30eb534ae2061e9eaa766a7ee4e8ffce5e4b422480c150f64b6",
            "en": "7b0954f39297c27a31fef610f0883337dd2907fa8699151dc922afdd0fa12ffe",
            "es": "f8e836b2d91009c4363e04315f7ede363eedbbb49c67dda60de6c4aa782f58de",
            "hi": "ea45ba8ae4513d1533b222bebdc02a90bc319c055d3aeea68584a053d2e92872",
            "ru": "7f4dff853538b9a5fcc28c070b8bb983a5c5d190ac747b8e005a1ada9cab18f1",
            "th": "c3a041864c3a9fb0b4dd91cfdf99cf36b411b3e704c58a303c97bc6dc786cfe4",
            "tr": "f3e8c13002bbce154a4578f535f7533cb70f3da08840e6b62735935baec7bd94",
            "vi": "e35926bf5cc6fc6ecbdfca49467aabeb454f08d152d7818143a906bd31dde995",
            "zh": "80c2cde7b9c2fb134c303cbb52f2ba396ead9eb0014aec43993543d2ba9e93ed",
        },
    ),
    "mlqa-r": DatasetSpec(
        name="mlqa-r",
        languages=("ar", "de", "en", "es", "hi", "vi", "zh"),
        # removed from the repository's later commits: the commit is pinned
        commit="354d67d1cd066854cdfbf5ad0e6105528976141d",
        licence="CC BY-NC 4.0",
        sha256={
            "ar": "2132fbc03208535c0fe01f2e2c5121d06f9c2aa799af93b0a719dbc105bdf137",
            "de": "ce9454dc5aa6f2d85c23cd6e49cb367fbb7c4c6e62d7f71e355c6b5dae4d0886",
            "en": "fedd9a5cc0848dda80caf84aa36f482adaae230526a3f6e9e86926a93ef3b1e4",
            "es": "70ecba276b8c96a692b120693a595d076ce94ad21d4b28311538a9fcbfe0f9d7",
            "hi": "4dd0fb3c06f737a5481d705bc1dcac7876712a5815c9265908fbb3a0696cb654",
            "vi": "9d3baff6ba03e6793b25594217265ea59a136b9733833dca8a9582a84a78ff85",
            "zh": "57f01d2fff50cf3392805635b01445339f225ad5bf28ba8443b12f8dbd1e69dc",
        },
    ),
}


def data_cache_dir() -> Path:
    """Where downloaded sets are kept: ``data/`` in the plugin's cache (``$HYBRID_PLUGIN_CACHE`` or the user's)."""
    return cache_dir() / "data"


def _download(url: str, target: Path, expected: str) -> None:
    """Stream ``url`` into ``target`` verifying SHA-256; nothing is left at ``target`` on failure."""
    digest = hashlib.sha256()
    with atomic_write(target, "wb") as out, urllib.request.urlopen(url, timeout=60) as response:
        for chunk in iter(lambda: response.read(1 << 16), b""):
            digest.update(chunk)
            out.write(chunk)
        got = digest.hexdigest()
        if got != expected:  # raised inside the block: the temporary file is removed, target is left as it was
            raise DownloadError(f"checksum mismatch: expected sha256 {expected}, got {got}", url)


def _check_local_copy(spec: DatasetSpec, folder: Path) -> Path:
    """``folder`` if it holds the published ``<lang>.json`` files of ``spec``."""
    if not folder.is_dir():
        raise DataError("no such folder", folder)
    for lang in spec.languages:
        path = folder / f"{lang}.json"
        if not path.is_file():
            raise DataError(f"missing language file {lang}.json ({spec.name} has {', '.join(spec.languages)})",
                            folder)
        got = sha256_file(path)
        if got != spec.sha256[lang]:
            raise DataError(f"is not the published {spec.name} file: sha256 {got}, expected {spec.sha256[lang]} "
                            "(pass the folder itself as DATASET to use modified data)", path)
    return folder


def fetch_dataset(name: str, *, data: str | Path | None = None, mirrors: list[str] | None = None,
                  cache: Path | None = None) -> Path:
    """A folder holding the verified ``<lang>.json`` files of a named set.

    Args:
        name: ``"xquad-r"`` or ``"mlqa-r"``.
        data: a local copy to use instead of downloading; its files must match the published checksums.
        mirrors: base URLs to download from instead of the defaults (see :meth:`DatasetSpec.urls`).
        cache: where downloads are kept (default: :func:`data_cache_dir`).

    Example::

        folder = fetch_dataset("mlqa-r")        # downloads once into the cache, verified
        sorted(p.name for p in folder.glob("*.json"))[:2]   # ['ar.json', 'de.json']
    """
    spec = DATASETS.get(name)
    if spec is None:
        raise UsageError(f"unknown named set {name!r}: expected one of {', '.join(DATASETS)}")
    if data is not None:
        return _check_local_copy(spec, Path(data))
    folder = (cache or data_cache_dir()) / name
    folder.mkdir(parents=True, exist_ok=True)
    for lang in spec.languages:
        target = folder / f"{lang}.json"
        if target.is_file() and sha256_file(target) == spec.sha256[lang]:
            continue
        errors = []
        for url in spec.urls(lang, mirrors):
            logger.info("downloading %s", url)
            try:
                _download(url, target, spec.sha256[lang])
                break
            except (urllib.error.URLError, http.client.HTTPException, ValueError, OSError) as exc:
                errors.append(f"{url}: {getattr(exc, 'reason', exc)}")
            except DownloadError as exc:
                errors.append(str(exc))
        else:
            raise DownloadError(f"could not download {lang}.json: {'; '.join(errors)}", name)
    return folder
