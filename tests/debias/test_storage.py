"""hybrid_plugin.debias.storage: what is written (the JSON last, with the .npz's checksum), and every malformed or
mismatched file read back as one DataError naming the file and the field."""

from __future__ import annotations

import json

import numpy as np
import pytest
from debiaskit import MODEL, SOURCE, random_embeddings

from hybrid_plugin.debias.fitting import fit_embeddings
from hybrid_plugin.debias.storage import ARRAYS_FILE, DEBIAS_FILE, FORMAT, FORMAT_VERSION
from hybrid_plugin.debias.transform import LanguageDebias
from hybrid_plugin.errors import DataError
from hybrid_plugin.files import sha256_file


@pytest.fixture()
def saved(tmp_path):
    debias = fit_embeddings(random_embeddings(0), method="lir", rank=2, source=SOURCE, model=MODEL)
    debias.save(tmp_path / "d")
    return tmp_path / "d"


def edit_json(folder, change):
    data = json.loads((folder / DEBIAS_FILE).read_text())
    change(data)
    (folder / DEBIAS_FILE).write_text(json.dumps(data))


def test_the_files_and_their_fields(saved):
    assert sorted(p.name for p in saved.iterdir()) == [DEBIAS_FILE, ARRAYS_FILE]  # no temporary file left
    data = json.loads((saved / DEBIAS_FILE).read_text())
    assert data["format"] == FORMAT and data["format_version"] == FORMAT_VERSION
    assert data["arrays_sha256"] == sha256_file(saved / ARRAYS_FILE)
    assert (data["method"], data["rank"], data["dim"], data["languages"]) == ("lir", 2, 8, ["en", "de", "zh"])
    assert data["fitted_on"]["dataset"] == "toy" and data["model"]["name"] == "toy-model"
    with np.load(saved / ARRAYS_FILE) as npz:
        assert sorted(npz.files)[:2] == ["lir.passage.de", "lir.passage.en"] and npz["mean.query.en"].shape == (8,)


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d.pop("method"), "missing field 'method'"),
    (lambda d: d.__setitem__("rank", "two"), "field 'rank' must be an integer or null but got \"two\""),
    (lambda d: d.__setitem__("normalize", 1), "field 'normalize' must be true or false"),
    (lambda d: d["fitted_on"].__setitem__("seed", None), "field 'fitted_on.seed' must be an integer"),
    (lambda d: d["fitted_on"]["texts"]["query"].__setitem__("en", "5"), "'fitted_on.texts.query.en' must be an int"),
    (lambda d: d["model"].__setitem__("prompts", []), "field 'model.prompts' must be an object"),
    (lambda d: d.__setitem__("languages", ["en", 3]), "field 'languages' must be an array of strings"),
    (lambda d: d.__setitem__("format", "other"), "field 'format' must be 'hybrid-plugin-debias'"),
    (lambda d: d.__setitem__("format_version", 99), "field 'format_version' is 99, .* upgrade hybrid-plugin"),
    (lambda d: d.__setitem__("method", "pca"), "field 'method' must be one of center, lir, lsar"),
    (lambda d: d.__setitem__("roles", ["passage", "query"]), "field 'roles' must be"),
    (lambda d: d.__setitem__("dim", 9), "field 'dim' is 9 but the arrays have 8 dimensions"),
    (lambda d: d["fitted_on"].__setitem__("seed", 5), "field 'digest' does not match"),
    (lambda d: d.__setitem__("arrays", "x.npz"), "field 'arrays' must be 'debias.npz'"),
])
def test_a_malformed_field_is_one_data_error_naming_file_and_field(saved, change, message):
    edit_json(saved, change)
    with pytest.raises(DataError, match=message) as caught:
        LanguageDebias.load(saved)
    assert str(caught.value).startswith(str(saved / DEBIAS_FILE))
    assert "\n" not in str(caught.value)


def test_arrays_that_do_not_belong_to_the_json_are_refused(saved, tmp_path):
    other = fit_embeddings(random_embeddings(1), method="lir", rank=2, source=SOURCE, model=MODEL)
    other.save(tmp_path / "other")
    (saved / ARRAYS_FILE).write_bytes((tmp_path / "other" / ARRAYS_FILE).read_bytes())
    with pytest.raises(DataError, match=f"{ARRAYS_FILE}: does not match {DEBIAS_FILE}"):
        LanguageDebias.load(saved)


def test_an_array_missing_from_the_npz_is_named(saved):
    with np.load(saved / ARRAYS_FILE) as npz:
        arrays = {k: npz[k] for k in npz.files if k != "lir.query.de"}
    np.savez(saved / ARRAYS_FILE, **arrays)
    edit_json(saved, lambda d: d.__setitem__("arrays_sha256", sha256_file(saved / ARRAYS_FILE)))
    with pytest.raises(DataError, match=f"{ARRAYS_FILE}: lacks the array 'lir.query.de'"):
        LanguageDebias.load(saved)


def test_an_array_of_the_wrong_shape_is_named(saved):
    with np.load(saved / ARRAYS_FILE) as npz:
        arrays = {k: npz[k] for k in npz.files}
    arrays["lir.passage.zh"] = arrays["lir.passage.zh"][:, :1]
    np.savez(saved / ARRAYS_FILE, **arrays)
    edit_json(saved, lambda d: d.__setitem__("arrays_sha256", sha256_file(saved / ARRAYS_FILE)))
    with pytest.raises(DataError, match=r"bases\[passage\]\[zh\] must be a finite array of shape \(8, 2\)"):
        LanguageDebias.load(saved)


@pytest.mark.parametrize(("damage", "message"), [
    (lambda f: (f / DEBIAS_FILE).unlink(), "not found: a folder written by 'hybrid-plugin debias'"),
    (lambda f: (f / DEBIAS_FILE).write_text("{"), "not valid JSON"),
    (lambda f: (f / DEBIAS_FILE).write_text("[]"), "expected a JSON object"),
    (lambda f: (f / DEBIAS_FILE).write_bytes(b"\xff\xfe"), "not UTF-8"),
    (lambda f: (f / ARRAYS_FILE).unlink(), "not found"),
    (lambda f: (f / ARRAYS_FILE).write_bytes(b"not a zip"), "does not match"),
])
def test_missing_and_unreadable_files(saved, damage, message):
    damage(saved)
    with pytest.raises(DataError, match=message):
        LanguageDebias.load(saved)


def test_an_unreadable_npz_with_a_matching_checksum(saved):
    (saved / ARRAYS_FILE).write_bytes(b"not a zip")
    edit_json(saved, lambda d: d.__setitem__("arrays_sha256", sha256_file(saved / ARRAYS_FILE)))
    with pytest.raises(DataError, match="not a readable .npz file"):
        LanguageDebias.load(saved)


def test_a_folder_that_does_not_exist(tmp_path):
    with pytest.raises(DataError, match="no such folder"):
        LanguageDebias.load(tmp_path / "nowhere")
