"""The named sets and their public releases: repositories, pinned commits, the SHA-256 of every file, verified
downloads.

Each set is data (a :class:`DatasetSpec`): the repository and commit it is published at, and the files it is made
of with their SHA-256 -- written here for the LAReQA sets, shipped beside this module for the larger ones
(``releases/<name>.sha256``, the ``sha256sum`` listing of the release). A set's folder (a download in the cache,
or a local copy given as ``data``) holds those files under the same relative paths. A download is verified while
it streams, written under a temporary name and renamed only when its SHA-256 matches; the mirrors are tried in
turn. To add a named set, add its spec to :data:`DATASETS`.

What does not live here: reading the files (:mod:`hybrid_plugin.data.lareqa`, :mod:`hybrid_plugin.data.afriqa`,
:mod:`hybrid_plugin.data.ntrex`, :mod:`hybrid_plugin.data.tatoeba`).
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from hybrid_plugin.data.languages import dataset_languages
from hybrid_plugin.errors import DataError, DownloadError, UsageError
from hybrid_plugin.files import atomic_write, cache_dir, sha256_file

__all__ = ["DATASETS", "DATA_URL_ENV", "DatasetSpec", "data_cache_dir", "fetch_dataset", "published_checksums"]

logger = logging.getLogger(__name__)

DATA_URL_ENV = "HYBRID_PLUGIN_DATA_URL"
"""Environment variable naming a mirror (a base URL holding ``<name>/<file>``) tried before the release."""

_RAW = "https://raw.githubusercontent.com/{repository}/{commit}/{path}"


@dataclass(frozen=True)
class DatasetSpec:
    """A named set as published: where its files lie and what they hash to.

    Attributes:
        name: the set's name (its folder in the cache and on a mirror).
        languages: the plugin's codes of its languages.
        repository: the GitHub repository that publishes it (``owner/name``).
        commit: the pinned commit.
        sha256: each file (its path inside the set's folder) -> SHA-256.
        licence: the data's licence.
        release_folder: where the files lie in the repository (``"xquad-r/"``, ``"data/"``).
        renamed: files that lie elsewhere in the repository: file -> path in the repository.
    """

    name: str
    languages: tuple[str, ...]
    repository: str
    commit: str
    sha256: dict[str, str]
    licence: str
    release_folder: str = ""
    renamed: dict[str, str] = field(default_factory=dict)

    def release_url(self, file: str) -> str:
        """The address of ``file`` in the public release, at the pinned commit."""
        path = self.renamed.get(file, self.release_folder + file)
        return _RAW.format(repository=self.repository, commit=self.commit, path=path)

    def urls(self, file: str, mirrors: list[str] | None = None) -> list[str]:
        """Addresses of ``file`` (a key of :attr:`sha256`) in the order tried.

        ``mirrors`` (base URLs holding ``<name>/<file>``) replace the defaults: the mirror named by
        ``HYBRID_PLUGIN_DATA_URL`` if set, then the public release.

        Example::

            DATASETS["ntrex-128"].urls("DOCUMENT_IDS.tsv")[-1]
            # 'https://raw.githubusercontent.com/MicrosoftTranslator/NTREX/8561f6a6.../DOCUMENT_IDS.tsv'
        """
        if file not in self.sha256:
            raise UsageError(f"{self.name} has no file {file!r}")
        if mirrors is None:
            env = os.environ.get(DATA_URL_ENV)
            urls = [f"{env.rstrip('/')}/{self.name}/{file}"] if env else []
            return urls + [self.release_url(file)]
        return [f"{m.rstrip('/')}/{self.name}/{file}" for m in mirrors]


def published_checksums(name: str) -> dict[str, str]:
    """The file -> SHA-256 listing shipped for a set (``releases/<name>.sha256``, ``sha256sum`` format).

    Example::

        published_checksums("ntrex-128")["DOCUMENT_IDS.tsv"]   # '88a8b0ff...'
    """
    text = resources.files(__package__).joinpath("releases", f"{name}.sha256").read_text(encoding="utf-8")
    sums: dict[str, str] = {}
    for line in text.splitlines():
        digest, _, path = line.partition("  ")
        sums[path.removeprefix("./")] = digest
    return sums


def _lareqa(name: str, commit: str, licence: str, sha256: dict[str, str]) -> DatasetSpec:
    return DatasetSpec(name=name, languages=tuple(sha256), repository="google-research-datasets/lareqa",
                       commit=commit, licence=licence, release_folder=f"{name}/",
                       sha256={f"{lang}.json": digest for lang, digest in sha256.items()})


DATASETS: dict[str, DatasetSpec] = {
    "xquad-r": _lareqa("xquad-r", "9bc8c7fb6dd8d01d72a05a93c2cb96882b0d299c", "CC BY-SA 4.0", {
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
    }),
    # removed from the repository's later commits: the commit is pinned
    "mlqa-r": _lareqa("mlqa-r", "354d67d1cd066854cdfbf5ad0e6105528976141d", "CC BY-NC 4.0", {
        "ar": "2132fbc03208535c0fe01f2e2c5121d06f9c2aa799af93b0a719dbc105bdf137",
        "de": "ce9454dc5aa6f2d85c23cd6e49cb367fbb7c4c6e62d7f71e355c6b5dae4d0886",
        "en": "fedd9a5cc0848dda80caf84aa36f482adaae230526a3f6e9e86926a93ef3b1e4",
        "es": "70ecba276b8c96a692b120693a595d076ce94ad21d4b28311538a9fcbfe0f9d7",
        "hi": "4dd0fb3c06f737a5481d705bc1dcac7876712a5815c9265908fbb3a0696cb654",
        "vi": "9d3baff6ba03e6793b25594217265ea59a136b9733833dca8a9582a84a78ff85",
        "zh": "57f01d2fff50cf3392805635b01445339f225ad5bf28ba8443b12f8dbd1e69dc",
    }),
    # data/queries/** and data/gold_passages/** of the repository, kept without the data/ prefix
    "afriqa": DatasetSpec(
        name="afriqa", languages=dataset_languages("afriqa"), repository="masakhane-io/afriqa",
        commit="5c29933753692c28773c34ac1f68482007f1d2bb", licence="CC BY 4.0",
        sha256=published_checksums("afriqa"), release_folder="data/",
        renamed={"LICENSE": "LICENSE", "README.md": "README.md"}),
    "ntrex-128": DatasetSpec(
        name="ntrex-128", languages=dataset_languages("ntrex-128"), repository="MicrosoftTranslator/NTREX",
        commit="8561f6a622db9edad1217683e5c83daefd8bb2bf", licence="CC BY-SA 4.0",
        sha256=published_checksums("ntrex-128")),
    # data/tatoeba/v1/* of the LASER repository; the repository's own LICENSE kept as LICENSE.LASER
    "tatoeba": DatasetSpec(
        name="tatoeba", languages=dataset_languages("tatoeba"), repository="facebookresearch/LASER",
        commit="74bc6ae7ffb7cba670fe0f428d0ede9f666fb821",
        licence="Tatoeba corpus: CC BY 2.0 FR (see its README.md); the LASER repository: BSD (LICENSE.LASER)",
        sha256=published_checksums("tatoeba"), release_folder="data/tatoeba/v1/",
        renamed={"LICENSE.LASER": "LICENSE"}),
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
    """``folder`` if it holds every published file of ``spec``."""
    if not folder.is_dir():
        raise DataError("no such folder", folder)
    for file, expected in spec.sha256.items():
        path = folder / file
        if not path.is_file():
            raise DataError(f"missing file {file} ({spec.name} is made of {len(spec.sha256)} files: "
                            f"{_listing(spec)})", folder)
        got = sha256_file(path)
        if got != expected:
            raise DataError(f"is not the published {spec.name} file: sha256 {got}, expected {expected} "
                            "(pass the folder itself as DATASET to use modified data)", path)
    return folder


def _listing(spec: DatasetSpec) -> str:
    files = list(spec.sha256)
    return ", ".join(files) if len(files) <= 12 else f"{', '.join(files[:3])}, ... (releases/{spec.name}.sha256)"


def _fetch_file(spec: DatasetSpec, file: str, target: Path, mirrors: list[str] | None) -> None:
    """Download one file of ``spec`` to ``target`` from the first address that gives the published bytes."""
    errors = []
    for url in spec.urls(file, mirrors):
        logger.info("downloading %s", url)
        try:
            _download(url, target, spec.sha256[file])
            return
        except (urllib.error.URLError, http.client.HTTPException, ValueError, OSError) as exc:
            errors.append(f"{url}: {getattr(exc, 'reason', exc)}")
        except DownloadError as exc:
            errors.append(str(exc))
    raise DownloadError(f"could not download {file}: {'; '.join(errors)}", spec.name)


def fetch_dataset(name: str, *, data: str | Path | None = None, mirrors: list[str] | None = None,
                  cache: Path | None = None) -> Path:
    """A folder holding the verified files of a named set.

    Args:
        name: a key of :data:`DATASETS` (``"xquad-r"``, ``"mlqa-r"``, ``"afriqa"``, ``"ntrex-128"``,
            ``"tatoeba"``).
        data: a local copy to use instead of downloading; it must hold every file of the set, under the same
            relative paths, matching the published checksums.
        mirrors: base URLs to download from instead of the defaults (see :meth:`DatasetSpec.urls`).
        cache: where downloads are kept (default: :func:`data_cache_dir`).

    Raises:
        UsageError: an unknown name. DataError: a local copy that lacks a file or differs from the release.
        DownloadError: a file that no address gave with the published checksum.

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
    for file, expected in spec.sha256.items():
        target = folder / file
        if not (target.is_file() and sha256_file(target) == expected):
            _fetch_file(spec, file, target, mirrors)
    return folder
