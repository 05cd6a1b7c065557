"""hybrid_plugin.debias.algebra: top directions against an eigen-decomposition reference, removal is an orthogonal
projection (idempotent, orthogonal to the basis), LSAR centres each group before its SVD."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hybrid_plugin.debias.algebra import lsar_basis, remove_directions, top_directions, unit_rows


def projector(basis: np.ndarray) -> np.ndarray:
    return basis @ basis.T


def reference_top(matrix: np.ndarray, rank: int) -> np.ndarray:
    """The top eigenvectors of ``X^T X`` (the right singular vectors, by another route)."""
    values, vectors = np.linalg.eigh(matrix.T @ matrix)
    return vectors[:, np.argsort(values)[::-1][:rank]]


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), rows=st.integers(4, 20), dim=st.integers(2, 10), data=st.data())
def test_top_directions_span_the_top_eigenvectors(seed, rows, dim, data):
    rank = data.draw(st.integers(1, min(rows, dim)))
    rng = np.random.default_rng(seed)
    matrix = rng.normal(size=(rows, dim)) * 3.0 ** -np.arange(dim)  # singular values well apart
    basis = top_directions(matrix, rank)
    assert basis.shape == (dim, rank)
    np.testing.assert_allclose(basis.T @ basis, np.eye(rank), atol=1e-10)
    np.testing.assert_allclose(projector(basis), projector(reference_top(matrix, rank)), atol=1e-6)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), dim=st.integers(2, 10), data=st.data())
def test_removal_is_an_orthogonal_projection(seed, dim, data):
    rank = data.draw(st.integers(1, dim))
    rng = np.random.default_rng(seed)
    basis = top_directions(rng.normal(size=(dim + 3, dim)), rank)
    vectors = rng.normal(size=(7, dim))
    once = remove_directions(vectors, basis)
    np.testing.assert_allclose(once @ basis, 0, atol=1e-10)                       # orthogonal to the basis
    np.testing.assert_allclose(remove_directions(once, basis), once, atol=1e-10)  # idempotent
    np.testing.assert_allclose(once + vectors @ projector(basis), vectors, atol=1e-10)  # nothing else changed


def test_lsar_basis_centres_each_group_and_ignores_what_languages_share():
    rng = np.random.default_rng(0)
    shared_query, shared_passage = rng.normal(size=6) * 10, rng.normal(size=6) * 10
    language = rng.normal(size=(3, 6))  # what tells the languages apart, the same in both roles
    queries, passages = language + shared_query, 0.5 * language + shared_passage
    basis = lsar_basis([queries, passages], 2)
    centred = np.concatenate([queries - queries.mean(0), passages - passages.mean(0)])
    np.testing.assert_allclose(projector(basis), projector(reference_top(centred, 2)), atol=1e-8)
    np.testing.assert_allclose(remove_directions(centred, basis), 0, atol=1e-8)  # 3 languages: rank 2 is all
    assert np.linalg.norm(remove_directions(shared_query[None], basis)) > 0.5 * np.linalg.norm(shared_query)


def test_top_directions_refuses_a_rank_out_of_range():
    with pytest.raises(ValueError, match="rank must be between 1 and 2"):
        top_directions(np.ones((2, 5)), 3)
    with pytest.raises(ValueError):
        top_directions(np.ones((2, 5)), 0)


def test_unit_rows_keeps_zero_rows():
    out = unit_rows(np.array([[3.0, 4.0], [0.0, 0.0]]))
    assert out.tolist() == [[0.6, 0.8], [0.0, 0.0]]
