"""Train a multilingual retriever with hybrid batches using plain sentence-transformers.

    python examples/train_hybrid.py --data ../shared/data/mlqa-r --steps 20

Each batch is monolingual (X-X) with probability alpha, else cross-lingual (X-Y). The language metadata stay in
the dataset for the sampler but are hidden from the loss (``build_training_dataset`` does that).
"""

from __future__ import annotations

import argparse

from sentence_transformers import SentenceTransformerTrainer, SentenceTransformerTrainingArguments
from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

from hybrid_plugin import HybridBatchSampler, HybridTrainingCallback, MultilingualRetrievalEvaluator, load_parallel_qa
from hybrid_plugin.models.loading import load_model
from hybrid_plugin.training.dataset import build_training_dataset
from hybrid_plugin.training.trainer import freeze_input_embeddings

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--data", default=None, help="local copy of MLQA-R (default: download)")
parser.add_argument("--eval-data", default=None, help="local copy of XQuAD-R (default: download)")
parser.add_argument("--alpha", type=float, default=0.5)
parser.add_argument("--steps", type=int, default=20)
parser.add_argument("--out", default="outputs/example-hybrid")
args = parser.parse_args()

train_qa = load_parallel_qa("mlqa-r", data=args.data)
train_dataset = build_training_dataset(train_qa)            # one row per (item, query language, passage language)
model = load_model()                                          # the embedded multilingual-e5-small
model.max_seq_length = 64
freeze_input_embeddings(model)                                # most parameters; minutes instead of hours on a CPU

training_args = SentenceTransformerTrainingArguments(
    output_dir=args.out,
    max_steps=args.steps,
    per_device_train_batch_size=32,
    learning_rate=3e-5,
    weight_decay=0.01,
    batch_sampler=HybridBatchSampler.configure(alpha=args.alpha),
    prompts={"anchor": "query: ", "positive": "passage: "},
    logging_steps=5,
    save_strategy="no",
    report_to="none",
)
evaluator = MultilingualRetrievalEvaluator(load_parallel_qa("xquad-r", data=args.eval_data), max_questions=50,
                                           name="xquad-r")
trainer = SentenceTransformerTrainer(
    model=model,
    args=training_args,
    train_dataset=train_dataset,
    loss=MultipleNegativesRankingLoss(model),
    evaluator=evaluator,
    callbacks=[HybridTrainingCallback()],                     # logs the realised X-X share and languages drawn
)
trainer.train()
print(evaluator(model))
model.save(args.out)
