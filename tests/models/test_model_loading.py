"""hybrid_plugin.models.loading: resolving a model argument (one error, the same in every command), loading
it, its prompts, and checking a device."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from hybrid_plugin.errors import DataError, UsageError
from hybrid_plugin.models import loading
from hybrid_plugin.models.default_model import E5_PROMPTS
from hybrid_plugin.models.loading import check_device, load_model, model_prompts, resolve_model

MISSING = "no-such-model-for-hybrid-plugin"
MODEL_MESSAGE = (f"model {MISSING}: not a folder with a sentence-transformers model, not 'default', and not "
                 "reachable on the Hugging Face hub (")


@pytest.fixture
def offline_hub(monkeypatch):
    """The hub cannot be asked (HF_HUB_OFFLINE), whatever the environment says; no answer is cached."""
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "is_offline_mode", lambda: True)
    loading._hub_problem.cache_clear()
    yield
    loading._hub_problem.cache_clear()


# ---------------------------------------------------------------------------------------- names and paths


def test_resolve_model_passes_other_names_through(monkeypatch):
    monkeypatch.setattr(loading, "build_default_model", lambda out=None: pytest.fail("must not build"))
    monkeypatch.setattr(loading, "_hub_problem", lambda name: None)  # as if each were a hub model
    assert resolve_model("sentence-transformers/LaBSE") == "sentence-transformers/LaBSE"
    assert resolve_model("/models/mine") == "/models/mine"
    assert resolve_model(Path("relative/folder")) == "relative/folder"


def test_resolve_model_default_builds(monkeypatch, tmp_path):
    calls = []
    monkeypatch.setattr(loading, "build_default_model", lambda out=None: calls.append(out) or tmp_path)
    assert resolve_model(None) == resolve_model("default") == str(tmp_path)
    assert calls == [None, None]


def test_a_local_model_folder_is_returned_unchanged(tiny_model):
    assert resolve_model(str(tiny_model)) == str(tiny_model)
    assert resolve_model(tiny_model) == str(tiny_model)


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        (MISSING, "not in the local Hugging Face cache while HF_HUB_OFFLINE is set"),
        ("/no/such/folder", "not a hub id"),
        ("a/b/c", "not a hub id"),
        ("two words", "not a hub id"),
    ],
)
def test_a_name_that_is_no_model_is_one_usage_error(offline_hub, name, reason):
    with pytest.raises(UsageError) as err:
        resolve_model(name)
    message = str(err.value)
    assert message.startswith(f"model {name}: not a folder with a sentence-transformers model, not 'default', and "
                              "not reachable on the Hugging Face hub (")
    assert reason in message and message.endswith(")") and "\n" not in message


def test_an_unreachable_hub_is_named_in_the_message(monkeypatch):
    import huggingface_hub

    def refuse(self, name, **kwargs):
        raise ConnectionError("Name or service not known")

    loading._hub_problem.cache_clear()
    monkeypatch.setattr(huggingface_hub.constants, "is_offline_mode", lambda: False)
    monkeypatch.setattr(huggingface_hub.HfApi, "model_info", refuse)
    with pytest.raises(UsageError, match=r"the hub cannot be reached: ConnectionError: Name or service not known\)$"):
        resolve_model(MISSING)
    loading._hub_problem.cache_clear()


def test_the_model_message_is_the_same_in_resolve_load_and_export(offline_hub, tmp_path):
    from hybrid_plugin.pyserini.export import export_model

    messages = []
    for call in (lambda: resolve_model(MISSING), lambda: load_model(MISSING, device="cpu"),
                 lambda: export_model(MISSING, tmp_path / "enc", verify=False)):
        with pytest.raises(UsageError) as err:
            call()
        messages.append(str(err.value))
    assert messages[0].startswith(MODEL_MESSAGE)
    assert messages == [messages[0]] * 3
    assert not (tmp_path / "enc").exists()


# -------------------------------------------------------------------------------------- broken local folders


def test_a_file_or_an_empty_folder_is_no_model(tmp_path):
    (tmp_path / "model.bin").write_bytes(b"\0")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UsageError, match=r"not reachable on the Hugging Face hub \(.*model\.bin is a file\)"):
        resolve_model(str(tmp_path / "model.bin"))
    with pytest.raises(UsageError, match="holds neither modules.json nor config.json"):
        resolve_model(str(tmp_path / "empty"))


def _copy_model(source: Path, target: Path) -> Path:
    import shutil

    shutil.copytree(source, target)
    return target


def test_broken_json_in_a_model_folder_is_a_data_error_naming_the_file(tiny_model, tmp_path):
    folder = _copy_model(tiny_model, tmp_path / "broken")
    (folder / "config.json").write_text('{"model_type": "bert",\n  oops}')
    with pytest.raises(DataError) as err:
        load_model(str(folder), device="cpu")
    assert str(err.value).startswith(f"{folder / 'config.json'}: not valid JSON: line 2 column 3")


def test_a_missing_transformer_config_is_a_data_error(tiny_model, tmp_path):
    folder = _copy_model(tiny_model, tmp_path / "no-config")
    (folder / "config.json").unlink()
    with pytest.raises(DataError, match="the Transformer module has no config.json") as err:
        resolve_model(str(folder))
    assert str(folder / "config.json") in str(err.value)


def test_modules_json_naming_a_missing_module_folder_is_a_data_error(tiny_model, tmp_path):
    folder = _copy_model(tiny_model, tmp_path / "no-pooling")
    modules = json.loads((folder / "modules.json").read_text())
    pooling = next(m["path"] for m in modules if m["type"].endswith("Pooling"))
    import shutil

    shutil.rmtree(folder / pooling)
    with pytest.raises(DataError, match=f"lies in '{pooling}', which is not a folder here"):
        resolve_model(str(folder))


def test_a_load_failure_of_a_local_folder_is_a_data_error(tiny_model, tmp_path):
    folder = _copy_model(tiny_model, tmp_path / "bad-weights")
    (folder / "model.safetensors").unlink()
    with pytest.raises(DataError) as err:
        load_model(str(folder), device="cpu")
    assert str(err.value).startswith(f"{folder}: cannot load the model: ") and "\n" not in str(err.value)


# --------------------------------------------------------------------------------------------------- devices


def test_check_device_accepts_what_exists(monkeypatch):
    import torch

    assert check_device(None) is None
    assert check_device("cpu") == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert [check_device(d) for d in ("cuda", "cuda:0", "cuda:1")] == ["cuda", "cuda:0", "cuda:1"]


@pytest.mark.parametrize("device", ["cuda:2", "cuda:7", "gpu", "CPU", "cuda:-1", "cuda:x", ""])
def test_check_device_refuses_what_does_not_exist(monkeypatch, device):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    with pytest.raises(UsageError) as err:
        check_device(device)
    assert str(err.value) == (f"device {device!r} is not available on this machine; available: cpu, cuda, cuda:0, "
                              "cuda:1")


def test_check_device_without_a_gpu(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    with pytest.raises(UsageError, match=r"^device 'cuda' is not available on this machine; available: cpu$"):
        check_device("cuda")
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert check_device("mps") == "mps"


def test_load_model_checks_the_device_before_loading(monkeypatch):
    monkeypatch.setattr(loading, "resolve_model", lambda name: pytest.fail("the device is checked first"))
    with pytest.raises(UsageError, match="device 'cuda:7'"):
        load_model("anything", device="cuda:7")


# ---------------------------------------------------------------------------------------------------- prompts


@pytest.mark.parametrize(
    ("prompts", "expected"),
    [
        (None, {"query": "", "passage": ""}),
        ({}, {"query": "", "passage": ""}),
        ({"query": "query: ", "passage": "passage: "}, E5_PROMPTS),
        # what sentence-transformers 6 saves for a model given only query/passage prompts
        ({"query": "q: ", "document": "", "passage": "p: "}, {"query": "q: ", "passage": "p: "}),
        ({"query": None, "document": "d: "}, {"query": "", "passage": "d: "}),
        ({"corpus": "c: "}, {"query": "", "passage": "c: "}),
    ],
)
def test_model_prompts(prompts, expected):
    assert model_prompts(SimpleNamespace(prompts=prompts)) == expected


# ------------------------------------------------------------------------------------- every command, one message


def _cli_commands(shared_data: Path, out: Path) -> dict[str, list[str]]:
    data = ["--data", str(shared_data / "xquad-r"), "--limit", "10"]
    return {
        "evaluate": ["evaluate", "--dataset", "xquad-r", *data, "--model", MISSING, "--out", str(out / "evaluate")],
        "train": ["train", "--train", "xquad-r", *data, "--batch-size", "2", "--model", MISSING,
                  "--out", str(out / "train")],
        "export": ["export", MISSING, str(out / "export")],
        "reproduce": ["reproduce", "--quick", "--model", MISSING, "--data-root", str(shared_data),
                      "--out", str(out / "reproduce")],
    }


@pytest.mark.timeout(300)
def test_a_mistyped_model_is_the_same_one_line_error_in_every_command(offline_hub, shared_data, tmp_path, capsys):
    from hybrid_plugin.cli import main

    errors = {}
    for command, argv in _cli_commands(shared_data, tmp_path).items():
        assert main(argv) == 2, command
        err = capsys.readouterr().err.strip().splitlines()
        assert err and "Traceback" not in "\n".join(err), (command, err)
        errors[command] = err[-1]
    assert errors["export"].startswith(f"hybrid-plugin: error: {MODEL_MESSAGE}")
    assert set(errors.values()) == {errors["export"]}, errors
    assert not any(p.name.startswith(".") for p in tmp_path.iterdir())  # no staging folder left
