"""Shared fixtures: where the evaluation data lie (../shared/data beside the project, as in CI), the default
model, and tiny real sentence-transformers models that encode and train in milliseconds."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("HYBRID_PLUGIN_TEST_DATA", ROOT.parent / "shared" / "data"))

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def _cache_sharing_models(root: Path) -> Path:
    """``root`` as an empty plugin cache whose ``models`` links to the current cache's built models, if any."""
    from hybrid_plugin.files import cache_dir

    models = cache_dir() / "models"
    if models.is_dir():
        (root / "models").symlink_to(models, target_is_directory=True)
    return root


@pytest.fixture(scope="session", autouse=True)
def session_cache(tmp_path_factory) -> Path:
    """The plugin cache the whole session writes to: a fresh folder, so that tests never fill the user's cache
    with the embeddings and ONNX / OpenVINO exports of the models they train (each export of a trained E5 is
    ~450 MB). Only the default model, which every machine builds once, is shared, through a link."""
    from hybrid_plugin.files import CACHE_ENV, cache_dir

    (cache_dir() / "models").mkdir(parents=True, exist_ok=True)
    root = _cache_sharing_models(tmp_path_factory.mktemp("plugin-cache"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(CACHE_ENV, str(root))
        yield root


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not (SHARED_DATA / "xquad-r" / "en.json").is_file():
        pytest.fail(f"evaluation data not found at {SHARED_DATA} (set HYBRID_PLUGIN_TEST_DATA)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def xquad(shared_data):
    from hybrid_plugin.data.loading import load_parallel_qa

    return load_parallel_qa("xquad-r", data=shared_data / "xquad-r")


@pytest.fixture(scope="session")
def mlqa(shared_data):
    from hybrid_plugin.data.loading import load_parallel_qa

    return load_parallel_qa("mlqa-r", data=shared_data / "mlqa-r")


@pytest.fixture(scope="session")
def default_model_path() -> str:
    """The embedded default model, built once into the user's cache (seconds when already there)."""
    from hybrid_plugin.models.loading import resolve_model

    return resolve_model(None)


# ------------------------------------------------------------------------------------------- tiny real models

E5_PROMPTS = {"query": "query: ", "passage": "passage: "}
TINY_LANGUAGES = ("en", "de", "es")
TINY_WORDS = (
    "query passage : . ? , the a of in is was who what when where which how many did to and by for on cat sat mat "
    "moon old dogs bark der die das und ist von wer wann wo katze sitzt auf matte le la les de est qui chat sur "
    "tapis el los en es que quién gato está alfombra кошка сидит на коврике где 猫 在 垫 子 上 哪").split()


def build_tiny_model(folder: Path, *, texts: list[str] | None = None, pooling: str = "mean", normalize: bool = True,
                     prompts: dict[str, str] | None = E5_PROMPTS, max_seq_length: int = 40, hidden: int = 32,
                     seed: int = 0) -> Path:
    """A real sentence-transformers folder with tiny parts: a randomly initialised 2-layer BERT (width ``hidden``),
    Pooling, optional Normalize, prompts, and a WordPiece tokenizer -- trained on ``texts`` when given, else over
    the fixed multilingual word list :data:`TINY_WORDS`."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    if texts is None:
        vocab = {token: i for i, token in enumerate(specials + sorted(set(TINY_WORDS)))}
        tokenizer = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    else:
        tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    if texts is not None:
        tokenizer.train_from_iterator(texts, trainers.WordPieceTrainer(vocab_size=1000, special_tokens=specials))
    cls, sep = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
    tokenizer.decoder = decoders.WordPiece()
    hf_folder = folder.with_name(folder.name + "-hf")
    PreTrainedTokenizerFast(tokenizer_object=tokenizer, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
                            sep_token="[SEP]", mask_token="[MASK]",
                            model_max_length=max_seq_length).save_pretrained(hf_folder)
    torch.manual_seed(seed)
    config = BertConfig(vocab_size=tokenizer.get_vocab_size(), hidden_size=hidden, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=2 * hidden, max_position_embeddings=128)
    BertModel(config).save_pretrained(hf_folder)
    transformer = Transformer(str(hf_folder), max_seq_length=max_seq_length)
    modules = [transformer, Pooling(transformer.get_embedding_dimension(), pooling)]
    modules += [Normalize()] if normalize else []
    SentenceTransformer(modules=modules, prompts=prompts, device="cpu").save(str(folder))
    shutil.rmtree(hf_folder)
    return folder


@pytest.fixture(scope="session")
def tiny_model_builder():
    """:func:`build_tiny_model` itself, for tests that build a tiny model of their own shape."""
    return build_tiny_model


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """A tiny E5-style model (mean pooling, Normalize, E5 prompts, 40 tokens) over a fixed word list."""
    return build_tiny_model(tmp_path_factory.mktemp("models") / "tiny-e5")


@pytest.fixture(scope="session")
def tiny_xquad_model(tmp_path_factory, shared_data) -> Path:
    """A tiny E5-style model (64 tokens) whose WordPiece vocabulary is trained on XQuAD-R text in
    :data:`TINY_LANGUAGES`: enough for training steps to move the loss."""
    from hybrid_plugin.data.loading import load_parallel_qa

    qa = load_parallel_qa("xquad-r", data=shared_data / "xquad-r", languages=TINY_LANGUAGES)
    texts = [t for lang in qa.languages for t in list(qa.questions[lang].values())[:200]]
    texts += [c.text for lang in qa.languages for c in qa.candidates[lang][:200]]
    return build_tiny_model(tmp_path_factory.mktemp("models") / "tiny-xquad", texts=texts, max_seq_length=64)


@pytest.fixture()
def one_torch_thread():
    """Two contended cores: one torch thread is much faster than two for tiny models."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture()
def isolated_cache(tmp_path, monkeypatch) -> Path:
    """An empty plugin cache (embeddings land here), sharing the already built default model when there is one."""
    from hybrid_plugin.files import CACHE_ENV

    root = tmp_path / "cache"
    root.mkdir()
    monkeypatch.setenv(CACHE_ENV, str(_cache_sharing_models(root)))
    return root


@pytest.fixture()
def stock_faiss_search(tmp_path):
    """``search(index, topics, encoded_queries)``: the stock ``python -m pyserini.search.faiss`` on a Faiss index
    and pre-encoded queries (as ``evaluate`` writes them), 1,000 hits; returns the run's lines, split."""
    import subprocess
    import sys

    from hybrid_plugin.pyserini.java import pyserini_env

    def search(index: Path, topics: Path, encoded_queries: Path) -> list[list[str]]:
        output = tmp_path / f"stock-{index.name}-{encoded_queries.name}.txt"
        args = [sys.executable, "-m", "pyserini.search.faiss", "--index", str(index), "--topics", str(topics),
                "--encoded-queries", str(encoded_queries), "--output", str(output), "--hits", "1000",
                "--batch-size", "16", "--threads", "1"]
        done = subprocess.run(args, env=pyserini_env(), capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-3000:]
        return [line.split() for line in output.read_text().splitlines()]

    return search


@pytest.fixture()
def run_stock():
    """``run(args, cwd)``: a stock command (``python -m pyserini…``, ``ir_measures``, ``hybrid-plugin``) as a user
    runs it, with the virtual environment's ``bin`` first on ``PATH`` and no ``JAVA_HOME`` (the plugin's own Java
    set-up must do); asserts it succeeded and returns its standard output."""
    import os
    import subprocess
    import sys

    bin_dir = Path(sys.executable).parent

    def run(args: list[str], cwd: Path) -> str:
        env = {k: v for k, v in os.environ.items() if k != "JAVA_HOME"}
        env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
        done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"{args[:4]} failed:\n{done.stderr[-3000:]}"
        return done.stdout

    return run
