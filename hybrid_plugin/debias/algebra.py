"""The linear algebra of language-bias removal, on plain numpy matrices (no model, no files).

* :func:`top_directions`: the top-``rank`` right singular vectors of a matrix (directions in embedding space),
  as the orthonormal columns of a ``(dim, rank)`` basis;
* :func:`lsar_basis`: LSAR's language subspace (Xie et al., EMNLP 2022): the top directions of the language
  means, each role's means centred on that role's mean over languages;
* :func:`remove_directions`: ``v - (v B) B^T``, the projection onto the orthogonal complement of a basis;
* :func:`unit_rows`: rows scaled to unit length (zero rows stay zero).

Every function computes in float64 and is exact linear algebra: removing a basis twice changes nothing, and what
is left is orthogonal to the basis.

Example::

    >>> import numpy as np
    >>> basis = top_directions(np.array([[3.0, 0.0], [0.0, 1.0]]), 1)
    >>> np.abs(basis).ravel().tolist()
    [1.0, 0.0]
    >>> remove_directions(np.array([[2.0, 5.0]]), basis).tolist()
    [[0.0, 5.0]]
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

__all__ = ["lsar_basis", "remove_directions", "top_directions", "unit_rows"]


def top_directions(matrix: np.ndarray, rank: int) -> np.ndarray:
    """The top-``rank`` right singular vectors of ``matrix`` (rows are vectors), as columns.

    Args:
        matrix (np.ndarray): ``(n, dim)``.
        rank (int): how many directions (at most ``min(n, dim)``).

    Returns:
        np.ndarray: ``(dim, rank)`` float64 with orthonormal columns, strongest direction first.

    Raises:
        ValueError: ``rank`` is not between 1 and ``min(n, dim)``.
    """
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.ndim != 2 or not 1 <= rank <= min(matrix.shape):
        raise ValueError(f"rank must be between 1 and {min(matrix.shape)} for a matrix of shape {matrix.shape}, "
                         f"got {rank}")
    _, _, vt = np.linalg.svd(matrix, full_matrices=False)
    return np.ascontiguousarray(vt[:rank].T)


def lsar_basis(means: Iterable[np.ndarray], rank: int) -> np.ndarray:
    """LSAR's language subspace: the top directions of the language means, centred per group.

    Each element of ``means`` is one role's ``(languages, dim)`` matrix of language means; each is centred on its
    own mean over languages (what the languages share stays), the centred rows are stacked, and the
    top-``rank`` right singular vectors of the stack are returned. Queries and passages (with different
    prompts) thus get one basis: one linear map for every text.

    Returns:
        np.ndarray: ``(dim, rank)`` with orthonormal columns.

    Raises:
        ValueError: ``rank`` is more than the stack has rows.
    """
    stacked = np.concatenate([m - m.mean(axis=0, keepdims=True)
                              for m in (np.asarray(x, dtype=np.float64) for x in means)])
    return top_directions(stacked, rank)


def remove_directions(vectors: np.ndarray, basis: np.ndarray) -> np.ndarray:
    """``v - (v B) B^T`` for every row ``v``: what is left is orthogonal to the columns of ``basis``.

    Args:
        vectors (np.ndarray): ``(n, dim)``.
        basis (np.ndarray): ``(dim, rank)`` with orthonormal columns.

    Returns:
        np.ndarray: ``(n, dim)`` float64.
    """
    vectors = np.asarray(vectors, dtype=np.float64)
    return vectors - (vectors @ basis) @ basis.T


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 length; a zero row stays zero (float64)."""
    vectors = np.asarray(vectors, dtype=np.float64)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)
