"""HybridTrainingCallback: exact realised shares in the trainer's logs, alpha schedules, resuming."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from transformers import TrainerControl, TrainerState

from hybrid_plugin.errors import UsageError
from hybrid_plugin.sampling.callback import HybridTrainingCallback
from hybrid_plugin.sampling.metadata import PairMetadata
from hybrid_plugin.sampling.sampler import HybridBatchSampler

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TINY_LANGUAGES = ("en", "de", "es")  # the languages of conftest's tiny_xquad_model


def grid_metadata(num_items: int = 60, languages=("en", "de", "es")) -> PairMetadata:
    L = len(languages)
    rows = np.array([(i, q, p) for i in range(num_items) for q in range(L) for p in range(L)])
    return PairMetadata.from_arrays(rows[:, 0], rows[:, 1], rows[:, 2], languages,
                                    texts=rows[:, 0] * L + rows[:, 2])


class FakeLoader:
    """What the trainer hands callbacks: a (prepared) DataLoader with a batch sampler and a per-process length."""

    def __init__(self, sampler: HybridBatchSampler) -> None:
        self.batch_sampler = sampler

    def __len__(self) -> int:
        return len(self.batch_sampler) // self.batch_sampler.num_replicas


def run_steps(callback, state, args, control, loader, steps, epoch_length):
    """Drive the callback like the trainer: epoch begin/end around steps, a log after each step."""
    logs = []
    for _ in range(steps):
        if state.global_step % epoch_length == 0:
            callback.on_epoch_begin(args, state, control)
        state.global_step += 1
        entry = {"loss": 1.0}
        state.log_history.append({**entry, "step": state.global_step})
        callback.on_log(args, state, control, logs=entry)
        logs.append(entry)
        if state.global_step % epoch_length == 0:
            callback.on_epoch_end(args, state, control)
    return logs


def expected_counts(sampler, batches_per_epoch, first, last):
    """Pairs per kind over per-process batches [first, last) of the run, epoch by epoch (reference)."""
    counts = np.zeros(sampler.metadata.num_kinds, dtype=int)
    for b in range(first, last):
        epoch, within = divmod(b, batches_per_epoch)
        plan = sampler.plan(epoch)
        counts += np.bincount(plan.kinds[within], minlength=sampler.metadata.num_kinds)
    return counts


@pytest.mark.parametrize("accumulation", [1, 2])
def test_logged_counts_are_exact(accumulation):
    sampler = HybridBatchSampler(grid_metadata(), 8, num_replicas=1, alpha=0.5, steps_per_epoch=6, seed=1)
    callback = HybridTrainingCallback()
    args = SimpleNamespace(gradient_accumulation_steps=accumulation)
    state, control = TrainerState(num_train_epochs=2), TrainerControl()
    loader = FakeLoader(sampler)
    callback.on_train_begin(args, state, control, train_dataloader=loader)
    updates_per_epoch = 6 // accumulation
    logs = run_steps(callback, state, args, control, loader, 2 * updates_per_epoch, updates_per_epoch)
    meta = sampler.metadata
    for step, entry in enumerate(logs, start=1):
        expected = expected_counts(sampler, 6, 0, step * accumulation)
        assert entry["hybrid/pairs"] == expected.sum()
        xx = expected[meta.is_xx()].sum() / expected.sum()
        assert entry["hybrid/xx_share"] == pytest.approx(xx, abs=1e-6)
        for k in np.flatnonzero(expected):
            assert entry[f"hybrid/{'xx' if meta.is_xx()[k] else 'xy'}/{meta.kind_name(k)}"] == expected[k]
        assert state.log_history[step - 1]["hybrid/pairs"] == expected.sum()  # the trainer's record too
    # over whole epochs the share is the quota: 3 of 6 steps per epoch are X-X
    assert logs[-1]["hybrid/xx_share"] == 0.5
    callback.on_train_end(args, state, control)
    summary = callback.summary()
    assert summary["pairs"] == 2 * 6 * 8 and summary["xx_share"] == 0.5
    assert sum(summary["xx_pairs"].values()) == 6 * 8


def test_resumed_run_counts_from_its_first_step_and_sets_the_epoch():
    sampler = HybridBatchSampler(grid_metadata(), 8, num_replicas=1, alpha=0.5, steps_per_epoch=5, seed=2)
    callback = HybridTrainingCallback()
    args = SimpleNamespace(gradient_accumulation_steps=1)
    state, control = TrainerState(num_train_epochs=3, global_step=7), TrainerControl()  # resumed in epoch 1
    callback.on_train_begin(args, state, control, train_dataloader=FakeLoader(sampler))
    callback.on_epoch_begin(args, state, control)
    assert sampler.epoch == 1  # what accelerate's skipping wrapper would not tell a sharded sampler
    state.global_step += 2
    entry = {"loss": 0.5}
    callback.on_log(args, state, control, logs=entry)
    assert entry["hybrid/pairs"] == 2 * 8
    assert entry["hybrid/pairs"] == expected_counts(sampler, 5, 7, 9).sum()


def test_a_resumed_run_reports_the_whole_run():
    """The counts travel in the checkpoint (the trainer saves the callback's state() in trainer_state.json): a run
    resumed at step 7 logs and summarises steps 1-12, as the run that never stopped does."""
    import json

    def fresh():
        sampler = HybridBatchSampler(grid_metadata(), 8, num_replicas=1, alpha=0.5, steps_per_epoch=5, seed=2)
        return sampler, HybridTrainingCallback(lambda epoch: [1.0, 0.0, 0.5][epoch])

    args, control = SimpleNamespace(gradient_accumulation_steps=1), TrainerControl()
    sampler, straight = fresh()
    state = TrainerState(num_train_epochs=3)
    straight.on_train_begin(args, state, control, train_dataloader=FakeLoader(sampler))
    logs = run_steps(straight, state, args, control, None, 7, 5)
    saved = json.loads(json.dumps(straight.state()))  # as the checkpoint keeps it
    logs += run_steps(straight, state, args, control, None, 5, 5)
    straight.on_train_end(args, state, control)

    sampler, resumed = fresh()
    state = TrainerState(num_train_epochs=3, global_step=7, stateful_callbacks={"HybridTrainingCallback": saved})
    resumed.on_train_begin(args, state, control, train_dataloader=FakeLoader(sampler))
    resumed.on_epoch_begin(args, state, control)  # the trainer starts the resumed epoch
    later = run_steps(resumed, state, args, control, None, 5, 5)
    resumed.on_train_end(args, state, control)
    assert later == logs[7:]
    assert resumed.summary() == straight.summary()
    assert resumed.summary()["pairs"] == 12 * 8 and resumed.summary()["alpha_per_epoch"] == {"0": 1.0, "1": 0.0,
                                                                                              "2": 0.5}
    assert resumed.first_step == 7
    # a checkpoint of other data is refused rather than miscounted
    other = HybridTrainingCallback()
    sampler = HybridBatchSampler(grid_metadata(languages=("en", "fr")), 8, num_replicas=1, steps_per_epoch=5)
    with pytest.raises(UsageError, match="resume with the data it was trained on"):
        other.on_train_begin(args, TrainerState(global_step=7, stateful_callbacks={"HybridTrainingCallback": saved}),
                             control, train_dataloader=FakeLoader(sampler))


def test_alpha_schedules():
    assert HybridTrainingCallback().alpha_for_epoch(3, 5) is None
    assert HybridTrainingCallback(0.25).alpha_for_epoch(3, 5) == 0.25
    curriculum = HybridTrainingCallback("curriculum", curriculum=(1.0, 0.0))
    assert [curriculum.alpha_for_epoch(e, 5) for e in range(5)] == [1.0, 0.75, 0.5, 0.25, 0.0]
    assert curriculum.alpha_for_epoch(0, 1) == 1.0
    assert HybridTrainingCallback(lambda e: 0.1 * e).alpha_for_epoch(3, 5) == pytest.approx(0.3)
    with pytest.raises(UsageError, match="returned"):
        HybridTrainingCallback(lambda e: 2.0).alpha_for_epoch(0, 1)
    for bad in ("linear", 1.5, True, [0.5]):
        with pytest.raises(UsageError):
            HybridTrainingCallback(bad)


def test_schedule_reaches_the_sampler_at_each_epoch():
    sampler = HybridBatchSampler(grid_metadata(), 8, num_replicas=1, alpha=0.5, steps_per_epoch=4, seed=3)
    callback = HybridTrainingCallback(lambda epoch: [1.0, 0.0, 0.5][epoch])
    args = SimpleNamespace(gradient_accumulation_steps=1)
    state, control = TrainerState(num_train_epochs=3), TrainerControl()
    callback.on_train_begin(args, state, control, train_dataloader=FakeLoader(sampler))
    logs = run_steps(callback, state, args, control, None, 12, 4)
    assert [e["hybrid/alpha"] for e in logs] == [1.0] * 4 + [0.0] * 4 + [0.5] * 4
    assert logs[3]["hybrid/xx_share"] == 1.0 and logs[7]["hybrid/xx_share"] == 0.5
    assert callback.alphas == {0: 1.0, 1: 0.0, 2: 0.5}


def test_needs_a_hybrid_sampler():
    callback = HybridTrainingCallback()
    with pytest.raises(UsageError, match="HybridBatchSampler"):
        callback.on_train_begin(SimpleNamespace(gradient_accumulation_steps=1), TrainerState(), TrainerControl(),
                                train_dataloader=SimpleNamespace(batch_sampler=None))


def test_eval_logs_are_left_alone():
    sampler = HybridBatchSampler(grid_metadata(), 8, num_replicas=1, steps_per_epoch=4)
    callback = HybridTrainingCallback()
    args = SimpleNamespace(gradient_accumulation_steps=1)
    state, control = TrainerState(num_train_epochs=1), TrainerControl()
    callback.on_train_begin(args, state, control, train_dataloader=FakeLoader(sampler))
    entry = {"eval_map_mean": 0.5}
    callback.on_log(args, state, control, logs=entry)
    assert entry == {"eval_map_mean": 0.5}


def test_curriculum_in_a_real_training_run_with_an_evaluator(tiny_xquad_model, xquad, tmp_path):
    """Three short epochs with the trainer: alpha follows the curriculum, the logs carry the shares, and an
    evaluator (the plugin's own, when it is there) runs alongside."""
    from sentence_transformers import (
        SentenceTransformer,
        SentenceTransformerTrainer,
        SentenceTransformerTrainingArguments,
    )
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    from hybrid_plugin.training import build_training_dataset

    qa = xquad.select_languages(TINY_LANGUAGES).limit(60)
    rows = build_training_dataset(qa)
    model = SentenceTransformer(str(tiny_xquad_model), device="cpu")
    try:
        from hybrid_plugin.evaluation import MultilingualRetrievalEvaluator

        evaluator = MultilingualRetrievalEvaluator(qa, max_questions=10, name="dev", write_csv=False)
    except ImportError:  # pragma: no cover - the evaluator is another module's
        evaluator = None
    args = SentenceTransformerTrainingArguments(
        output_dir=str(tmp_path), per_device_train_batch_size=8, num_train_epochs=3, learning_rate=1e-3,
        logging_steps=1, report_to="none", use_cpu=True, disable_tqdm=True, save_strategy="no",
        eval_strategy="epoch" if evaluator is not None else "no",
        batch_sampler=HybridBatchSampler.configure(alpha=0.5, steps_per_epoch=4))
    callback = HybridTrainingCallback("curriculum", curriculum=(1.0, 0.0))
    trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=rows,
                                         loss=MultipleNegativesRankingLoss(model), evaluator=evaluator,
                                         callbacks=[callback])
    trainer.train()
    history = [e for e in trainer.state.log_history if "loss" in e]
    assert [e["hybrid/alpha"] for e in history] == [1.0] * 4 + [0.5] * 4 + [0.0] * 4
    assert history[3]["hybrid/xx_share"] == 1.0
    assert history[-1]["hybrid/xx_share"] == pytest.approx((4 + 2) / 12)
    assert callback.summary()["alpha_per_epoch"] == {"0": 1.0, "1": 0.5, "2": 0.0}
    if evaluator is not None:
        evals = [e for e in trainer.state.log_history if any(k.startswith("eval_dev_map") for k in e)]
        assert len(evals) == 3 and not any(k.startswith("hybrid/") for e in evals for k in e)
