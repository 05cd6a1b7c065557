"""The fitted language-bias removal: :class:`LanguageDebias`, a typed record with its arrays, applied to
embeddings, saved as a small JSON and an ``.npz``.

Three methods (:data:`METHODS`), each fitted per role, because queries carry the model's query prompt
(``"query: "`` for E5) and passages its passage prompt:

* ``center``: subtract the mean embedding of the text's language (and role);
* ``lir`` (Language Information Removal, Yang et al. 2021): project out the top-``rank`` singular directions of the
  text's language (and role) embeddings;
* ``lsar`` (Xie et al., EMNLP 2022): project out the top-``rank`` directions of the language means (each role
  centred on its own mean over languages), one matrix for every text: no language needed, so it is also a
  sentence-transformers module (:mod:`hybrid_plugin.debias.module`).

After the transform, rows are scaled back to unit length when the model's embeddings are (``normalize``).

What does *not* live here: fitting (:mod:`hybrid_plugin.debias.fitting`), the numpy algebra
(:mod:`hybrid_plugin.debias.algebra`), the file format (:mod:`hybrid_plugin.debias.storage`).

Example::

    >>> import numpy as np
    >>> means = {role: {"en": np.array([1.0, 0.0]), "de": np.array([0.0, 1.0])} for role in ROLES}
    >>> debias = LanguageDebias("center", None, means, FitSource("toy", "0"), FittedModel("m"), normalize=False)
    >>> debias.apply(np.array([[1.0, 1.0]]), language="de", role="query").tolist()
    [[1.0, 0.0]]
    >>> LanguageDebias.load(debias.save("debias-out")).digest == debias.digest
    True
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np

from hybrid_plugin.debias.algebra import remove_directions, unit_rows
from hybrid_plugin.debias.storage import ARRAYS_FILE, read_debias_files, write_debias_files
from hybrid_plugin.errors import DataError, UsageError
from hybrid_plugin.evaluation.embedding_cache import Role

__all__ = ["METHODS", "ROLES", "FitSource", "FittedModel", "LanguageDebias", "Method", "default_rank",
           "role_languages"]

Method = Literal["center", "lir", "lsar"]
METHODS: tuple[str, ...] = get_args(Method)
ROLES: tuple[Role, ...] = ("query", "passage")


def default_rank(method: str, languages: int) -> int | None:
    """The rank a method uses when none is given: none for ``center``, 1 for ``lir`` (each language's top
    direction), and for ``lsar`` the number of languages fitted minus one (the dimension that one role's centred
    language means span; at least 1).

    Example::

        >>> default_rank("lsar", 7), default_rank("lir", 7), default_rank("center", 7)
        (6, 1, None)
    """
    return {"center": None, "lir": 1}.get(method, max(1, languages - 1))


@dataclass(frozen=True)
class FitSource:
    """What a transform was fitted on.

    Args:
        dataset (str): the collection's name (``"mlqa-r"``, ``"ntrex-128"``) or a description of the sentences.
        checksum (str): the collection's checksum (:attr:`ParallelQA.checksum`) or a digest of the sentences.
        languages (tuple): the languages fitted, in order.
        texts (dict): ``texts[role][language]``: how many texts were encoded.
        per_language (int, optional): the most texts drawn per language and role (None: all).
        seed (int, default 0): the seed of that draw.
        description (str): free text.
        part (str, optional): the side of a development split the texts are (:meth:`part_of`), None for a
            whole collection.
    """

    dataset: str
    checksum: str
    languages: tuple[str, ...] = ()
    texts: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    per_language: int | None = None
    seed: int = 0
    description: str = ""
    part: str | None = None

    @staticmethod
    def part_of(collection: Any) -> str | None:
        """``"<side>:<dev digest>"`` for one side of a development split (``ParallelQA.split``), else None."""
        split = getattr(collection, "split", None)
        return None if split is None else f"{split.side}:{split.dev_digest}"

    def overlaps(self, collection: Any) -> bool:
        """Whether the texts may hold ``collection``'s (a ``ParallelQA``): the same sources, unless they are the
        two sides of one split."""
        if self.checksum != getattr(collection, "checksum", None):
            return False
        mine, theirs = self.part, self.part_of(collection)
        if mine is None or theirs is None:
            return True
        return mine.split(":", 1)[1] != theirs.split(":", 1)[1] or mine == theirs

    def to_dict(self) -> dict[str, Any]:
        return {"dataset": self.dataset, "checksum": self.checksum, "languages": list(self.languages),
                "texts": {r: dict(v) for r, v in self.texts.items()}, "per_language": self.per_language,
                "seed": self.seed, "description": self.description, "part": self.part}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FitSource:
        return cls(data["dataset"], data["checksum"], tuple(data["languages"]),
                   {r: dict(v) for r, v in data["texts"].items()}, data["per_language"], data["seed"],
                   data["description"], data.get("part"))


@dataclass(frozen=True)
class FittedModel:
    """The model whose embeddings a transform was fitted on: name, folder, content digest, prompts."""

    name: str
    path: str | None = None
    digest: str | None = None
    prompts: Mapping[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "path": self.path, "digest": self.digest, "prompts": dict(self.prompts)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FittedModel:
        return cls(data["name"], data["path"], data["digest"], dict(data["prompts"]))


def _array(value: Any, shape: tuple[int, ...], what: str) -> np.ndarray:
    array = np.array(value, dtype=np.float64)  # a copy: the record owns its arrays
    if array.shape != shape or not np.isfinite(array).all():
        raise UsageError(f"{what} must be a finite array of shape {shape} but got shape {array.shape}")
    array.flags.writeable = False
    return array


def role_languages(table: Mapping[str, Mapping[str, Any]], what: str) -> tuple[str, ...]:
    """The languages of a ``table[role][language]`` that has both roles and the same languages in each.

    Raises:
        UsageError: another set of roles, or languages that differ between the roles (``what`` names the table).
    """
    if not isinstance(table, Mapping) or set(table) != set(ROLES):
        raise UsageError(f"{what} must have exactly the roles {', '.join(ROLES)}")
    languages = tuple(table[ROLES[0]])
    if set(table[ROLES[1]]) != set(languages) or not languages:
        raise UsageError(f"{what} must hold the same languages for every role (at least one)")
    return languages


@dataclass(frozen=True, eq=False)
class LanguageDebias:
    """A fitted language-bias removal (made by :func:`~hybrid_plugin.debias.fitting.fit_debias` from a model and
    texts, or :func:`~hybrid_plugin.debias.fitting.fit_embeddings` from embeddings; read by :meth:`load`).

    Args:
        method (str): ``"center"``, ``"lir"`` or ``"lsar"``.
        rank (int | None): directions removed (``lir``: per language and role; ``lsar``: in all); None for
            ``center``.
        means (dict): ``means[role][language]``: the mean embedding (every method records them).
        source (FitSource): what it was fitted on; model (FittedModel): whose embeddings.
        bases (dict): ``lir`` only: ``bases[role][language]``, ``(dim, rank)`` orthonormal columns.
        basis (np.ndarray, optional): ``lsar`` only: ``(dim, rank)`` orthonormal columns.
        normalize (bool, default True): scale results to unit length (the model's embeddings are unit length).

    Raises:
        UsageError: a field is missing or has the wrong shape (the message names it).
    """

    method: Method
    rank: int | None
    means: Mapping[str, Mapping[str, np.ndarray]]
    source: FitSource
    model: FittedModel
    bases: Mapping[str, Mapping[str, np.ndarray]] = field(default_factory=dict)
    basis: np.ndarray | None = None
    normalize: bool = True

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise UsageError(f"method must be one of {', '.join(METHODS)} but got {self.method!r}")
        languages = role_languages(self.means, "means")
        dim = int(np.asarray(self.means[ROLES[0]][languages[0]]).size)
        object.__setattr__(self, "means", {r: {lang: _array(self.means[r][lang], (dim,), f"means[{r}][{lang}]")
                                               for lang in languages} for r in ROLES})
        if not isinstance(self.normalize, bool):
            raise UsageError(f"normalize must be true or false but got {self.normalize!r}")
        self._check_rank(dim)
        if self.method == "lir":
            if set(role_languages(self.bases, "bases")) != set(languages):
                raise UsageError(f"bases must hold the fitted languages {', '.join(languages)}")
            object.__setattr__(self, "bases", {r: {lang: _array(self.bases[r][lang], (dim, self.rank),
                                                                f"bases[{r}][{lang}]") for lang in languages}
                                               for r in ROLES})
        elif self.bases:
            raise UsageError(f"bases are for lir only, not {self.method}")
        if self.method == "lsar":
            object.__setattr__(self, "basis", _array(self.basis, (dim, self.rank), "basis"))
        elif self.basis is not None:
            raise UsageError(f"basis is for lsar only, not {self.method}")

    def _check_rank(self, dim: int) -> None:
        if self.method == "center":
            if self.rank is not None:
                raise UsageError(f"rank is for lir and lsar; center removes no directions (got rank {self.rank})")
            return
        if not isinstance(self.rank, int) or isinstance(self.rank, bool) or not 1 <= self.rank < dim:
            raise UsageError(f"rank must be a whole number from 1 to {dim - 1} (below the dimension) for "
                             f"{self.method} but got {self.rank!r}")

    # ------------------------------------------------------------------------------------------ reading

    @property
    def languages(self) -> tuple[str, ...]:
        """The fitted languages."""
        return tuple(self.means[ROLES[0]])

    @property
    def dim(self) -> int:
        """The embedding dimension."""
        return int(self.means[ROLES[0]][self.languages[0]].size)

    @property
    def needs_language(self) -> bool:
        """Whether :meth:`apply` needs each text's language (``center``, ``lir``; not ``lsar``)."""
        return self.method != "lsar"

    @property
    def projection(self) -> np.ndarray:
        """LSAR's one linear map, ``I - B B^T`` (``(dim, dim)``, symmetric and idempotent).

        Raises:
            UsageError: the method is not ``lsar`` (centring and LIR depend on each text's language).
        """
        if self.basis is None:
            raise UsageError(f"{self.method} depends on the language of each text, so it is no single linear map; "
                             "only lsar is")
        return np.eye(self.dim) - self.basis @ self.basis.T

    def describe(self) -> str:
        """One line: method, rank, what it was fitted on."""
        rank = "" if self.rank is None else f" (rank {self.rank})"
        counts = [n for by_lang in self.source.texts.values() for n in by_lang.values()]
        texts = f", {sum(counts)} texts" if counts else ""
        return (f"{self.method}{rank} fitted on {self.source.dataset} ({len(self.languages)} languages{texts}) "
                f"with {self.model.name}")

    # ------------------------------------------------------------------------------------------ applying

    def check_languages(self, languages: Sequence[str]) -> None:
        """Raise :class:`UsageError` if this transform needs the language and one of ``languages`` was not
        fitted (``lsar`` takes any language)."""
        missing = [lang for lang in languages if lang not in self.means[ROLES[0]]]
        if self.needs_language and missing:
            raise UsageError(f"language {missing[0]!r} was not fitted by this {self.method} transform (fitted: "
                             f"{', '.join(self.languages)}); fit it on data with that language, or use lsar, which "
                             "needs no language")

    def apply(self, vectors: np.ndarray, *, language: str | None = None, role: Role) -> np.ndarray:
        """Remove the language bias from embeddings of one role (and, for ``center`` / ``lir``, one language).

        Args:
            vectors (np.ndarray): ``(n, dim)`` or ``(dim,)`` embeddings of the fitted model.
            language (str, optional): their language (required by ``center`` and ``lir``).
            role (str): ``"query"`` or ``"passage"``.

        Returns:
            np.ndarray: float32, the shape of ``vectors``; unit-length rows when ``normalize``.

        Raises:
            UsageError: an unknown role, a language this transform needs but did not fit, a wrong dimension.
        """
        if role not in ROLES:
            raise UsageError(f"role must be one of {', '.join(ROLES)} but got {role!r}")
        array = np.asarray(vectors)
        rows = array.reshape(1, -1) if array.ndim == 1 else array
        if rows.ndim != 2 or rows.shape[1] != self.dim:
            raise UsageError(f"the transform was fitted on {self.dim}-dimensional embeddings but got shape "
                             f"{array.shape}")
        if self.needs_language:
            if language is None:
                raise UsageError(f"{self.method} needs the language of the texts (language=...)")
            self.check_languages([language])
        if self.method == "center":
            out = rows.astype(np.float64) - self.means[role][language]
        elif self.method == "lir":
            out = remove_directions(rows, self.bases[role][language])
        else:
            out = remove_directions(rows, self.basis)
        out = (unit_rows(out) if self.normalize else out).astype(np.float32)
        return out.reshape(array.shape)

    # ------------------------------------------------------------------------------------------ identity

    def description(self) -> dict[str, Any]:
        """The JSON fields that describe the transform (no arrays)."""
        return {"method": self.method, "rank": self.rank, "normalize": self.normalize, "dim": self.dim,
                "languages": list(self.languages), "roles": list(ROLES), "fitted_on": self.source.to_dict(),
                "model": self.model.to_dict()}

    def arrays(self) -> dict[str, np.ndarray]:
        """The arrays by name: ``mean.<role>.<language>``, ``lir.<role>.<language>``, ``lsar``."""
        out = {f"mean.{r}.{lang}": v for r, table in self.means.items() for lang, v in table.items()}
        out.update({f"lir.{r}.{lang}": v for r, table in self.bases.items() for lang, v in table.items()})
        if self.basis is not None:
            out["lsar"] = self.basis
        return out

    @functools.cached_property
    def digest(self) -> str:
        """SHA-256 over the description and every array's bytes: the transform's identity."""
        digest = hashlib.sha256(json.dumps(self.description(), sort_keys=True).encode())
        for name, array in sorted(self.arrays().items()):
            digest.update(name.encode() + b"\0" + np.ascontiguousarray(array, dtype="<f8").tobytes())
        return digest.hexdigest()

    # ------------------------------------------------------------------------------------------ files

    def save(self, folder: str | Path) -> Path:
        """Write ``folder/debias.npz`` and ``folder/debias.json`` (each atomically; the JSON last, holding the
        ``.npz``'s SHA-256 and the transform's digest); return the JSON's path."""
        return write_debias_files(folder, self.description(), self.arrays(), self.digest)

    @classmethod
    def load(cls, folder: str | Path) -> LanguageDebias:
        """Read a transform saved by :meth:`save` (``folder`` or its ``debias.json``).

        Raises:
            DataError: a missing or malformed file or field, arrays that do not belong to the JSON, a digest
                that does not match the content (the message names the file and the field).
        """
        data, arrays, path = read_debias_files(folder)
        npz = path.parent / ARRAYS_FILE
        if data["roles"] != list(ROLES):
            raise DataError(f"field 'roles' must be {list(ROLES)} but got {data['roles']}", path)
        if data["method"] not in METHODS:
            raise DataError(f"field 'method' must be one of {', '.join(METHODS)} but got {data['method']!r}", path)
        names = [f"mean.{r}.{lang}" for r in ROLES for lang in data["languages"]]
        names += [f"lir.{r}.{lang}" for r in ROLES for lang in data["languages"]] if data["method"] == "lir" else []
        names += ["lsar"] if data["method"] == "lsar" else []
        missing, extra = set(names).difference(arrays), set(arrays).difference(names)
        if missing or extra:
            what = f"lacks the array {sorted(missing)[0]!r}" if missing else f"holds an unknown array {sorted(extra)[0]!r}"
            raise DataError(f"{what} for a {data['method']} transform of languages {', '.join(data['languages'])}",
                            npz)
        try:
            debias = cls(data["method"], data["rank"],
                         {r: {lang: arrays[f"mean.{r}.{lang}"] for lang in data["languages"]} for r in ROLES},
                         FitSource.from_dict(data["fitted_on"]), FittedModel.from_dict(data["model"]),
                         {r: {lang: arrays[f"lir.{r}.{lang}"] for lang in data["languages"]} for r in ROLES}
                         if data["method"] == "lir" else {}, arrays.get("lsar"), data["normalize"])
        except UsageError as exc:  # an array of the wrong shape (the .npz), or a field (the JSON)
            raise DataError(exc.message, npz if exc.message.startswith(("means", "bases", "basis")) else path) from None
        if debias.dim != data["dim"]:
            raise DataError(f"field 'dim' is {data['dim']} but the arrays have {debias.dim} dimensions", path)
        if debias.digest != data["digest"]:
            raise DataError("field 'digest' does not match the transform's content (edited by hand?)", path)
        return debias

    def summary(self) -> dict[str, Any]:
        """What an evaluation's results record says about the transform it applied."""
        return {"method": self.method, "rank": self.rank, "digest": self.digest,
                "fitted_on": {k: v for k, v in self.source.to_dict().items() if k != "texts"}
                | {"texts": sum(n for t in self.source.texts.values() for n in t.values())},
                "model": {"name": self.model.name, "digest": self.model.digest}}
