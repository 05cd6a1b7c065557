"""Two CPU processes under torchrun (gloo): every rank trains on its own pairs, same kind of batch at each step."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

WORKER = textwrap.dedent('''
    import json, os, sys

    import torch

    torch.set_num_threads(1)
    from sentence_transformers import (
        SentenceTransformer, SentenceTransformerTrainer, SentenceTransformerTrainingArguments)
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    from hybrid_plugin import HybridBatchSampler, HybridTrainingCallback
    from hybrid_plugin.data import load_parallel_qa
    from hybrid_plugin.sampling import find_hybrid_sampler
    from hybrid_plugin.training import build_training_dataset

    model_path, data, out = sys.argv[1:4]
    qa = load_parallel_qa("xquad-r", data=data, languages=["en", "de", "es"]).limit(150)
    rows = build_training_dataset(qa)
    model = SentenceTransformer(model_path, device="cpu")
    args = SentenceTransformerTrainingArguments(
        output_dir=out, per_device_train_batch_size=8, max_steps=4, learning_rate=1e-3, use_cpu=True,
        report_to="none", save_strategy="no", logging_steps=1, disable_tqdm=True, ddp_backend="gloo",
        batch_sampler=HybridBatchSampler.configure(alpha=0.5, steps_per_epoch=6))
    loss = MultipleNegativesRankingLoss(model, gather_across_devices=True)
    trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=rows, loss=loss,
                                         callbacks=[HybridTrainingCallback()])
    loader = trainer.get_train_dataloader()
    shard = [[int(i) for i in batch] for batch in loader.batch_sampler]  # this rank's batches of epoch 0
    anchors = []
    collator = trainer.data_collator
    base = type(collator)

    def call(self, features):
        anchors.append([f["anchor"] for f in features])
        return base.__call__(self, features)

    collator.__class__ = type("Spy", (base,), {"__call__": call})
    trainer.train()
    # the same through the command line (the form a user runs under torchrun)
    from hybrid_plugin.cli import main

    cli_status = main(["train", "--train", "xquad-r", "--data", data, "--model", model_path,
                       "--out", os.path.join(out, "cli"), "--languages", "en", "de", "es", "--limit", "150",
                       "--batch-size", "8", "--max-steps", "3", "--device", "cpu"])
    rank = int(os.environ["RANK"])
    with open(os.path.join(out, f"rank{rank}.json"), "w") as handle:
        json.dump({
            "world_size": int(os.environ["WORLD_SIZE"]),
            "num_replicas": find_hybrid_sampler(loader).num_replicas,
            "shard": shard,
            "trained": anchors,
            "anchor_of_row": [rows[i]["anchor"] for b in shard for i in b],
            "logs": [e for e in trainer.state.log_history if "loss" in e],
            "cli_status": cli_status,
        }, handle)
''')


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory, shared_data, tiny_xquad_model):
    model = tiny_xquad_model
    out = tmp_path_factory.mktemp("ddp")
    script = out / "worker.py"
    script.write_text(WORKER)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
           "--master_port", str(_free_port()), str(script), str(model), str(shared_data / "xquad-r"), str(out)]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-4000:]
    ranks = [json.loads((out / f"rank{r}.json").read_text()) for r in range(2)]
    ranks[0]["cli_report"] = json.loads((out / "cli" / "training.json").read_text())
    return ranks


def test_every_rank_knows_the_world_and_gets_as_many_batches(two_ranks):
    assert [r["world_size"] for r in two_ranks] == [2, 2]
    assert [r["num_replicas"] for r in two_ranks] == [2, 2]
    assert len(two_ranks[0]["shard"]) == len(two_ranks[1]["shard"]) == 6  # steps_per_epoch
    assert all(len(b) == 8 for r in two_ranks for b in r["shard"])


def test_each_step_is_one_kind_on_all_ranks_without_shared_items(two_ranks, xquad):
    from hybrid_plugin.sampling import PairMetadata
    from hybrid_plugin.training import build_training_dataset

    rows = build_training_dataset(xquad.select_languages(["en", "de", "es"]).limit(150))
    meta = PairMetadata.from_dataset(rows)
    for step in range(6):
        batches = [r["shard"][step] for r in two_ranks]
        kinds = [{(int(meta.query_language[i]), int(meta.passage_language[i])) for i in b} for b in batches]
        assert len(kinds[0]) == 1 and kinds[0] == kinds[1]  # X-X language or X-Y pair: the same on both ranks
        items = [int(meta.item[i]) for b in batches for i in b]
        positives = [int(meta.texts[i, 0]) for b in batches for i in b]
        assert len(set(items)) == len(items) == 16  # distinct examples, no item on two ranks
        assert len(set(positives)) == len(positives)
    xx_steps = [[bool(meta.query_language[r["shard"][s][0]] == meta.passage_language[r["shard"][s][0]])
                 for s in range(6)] for r in two_ranks]
    assert xx_steps[0] == xx_steps[1] and sum(xx_steps[0]) == 3  # alpha 0.5 of 6 steps, in step on both ranks


def test_ranks_trained_on_their_shards_and_log_the_same_shares(two_ranks):
    for rank in two_ranks:
        per_batch = [rank["anchor_of_row"][i * 8:(i + 1) * 8] for i in range(4)]
        assert rank["trained"][:4] == per_batch  # the 4 steps trained on this rank's first 4 batches
        assert all(np.isfinite(e["loss"]) for e in rank["logs"])
    keys = [{k: v for k, v in e.items() if k.startswith("hybrid/")} for e in two_ranks[0]["logs"]]
    assert keys == [{k: v for k, v in e.items() if k.startswith("hybrid/")} for e in two_ranks[1]["logs"]]
    assert keys[-1]["hybrid/pairs"] == 4 * 2 * 8  # global: both ranks


def test_the_command_line_trains_under_torchrun(two_ranks):
    assert [r["cli_status"] for r in two_ranks] == [0, 0]
    report = two_ranks[0]["cli_report"]
    assert report["world_size"] == 2 and report["global_step"] == 3
    assert report["sampling"]["sampler"]["num_replicas"] == 2
    assert report["sampling"]["realised"]["pairs"] == 3 * 2 * 8
