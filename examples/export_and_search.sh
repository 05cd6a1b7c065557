#!/usr/bin/env bash
# Export a trained model for Pyserini and search one cross-lingual pair with the stock commands.
#   bash examples/export_and_search.sh outputs/example-hybrid ../shared/data/xquad-r
set -euo pipefail
model=${1:?model folder}; data=${2:-}
hybrid-plugin prepare xquad-r ${data:+--data "$data"} --out . --overwrite
hybrid-plugin export "$model" encoders/example --overwrite
flags=(--encoder encoders/example --encoder-class auto --pooling mean --l2-norm)
python -m pyserini.encode input --corpus corpus/xquad-r/de.jsonl output --embeddings indexes/example.de --to-faiss \
  encoder "${flags[@]}" --prefix passage: --max-length 512 --dimension 384
python -m pyserini.search.faiss --index indexes/example.de --topics topics/xquad-r.en.tsv \
  --output runs/example.en-de.txt "${flags[@]}" --query-prefix query: --hits 1000
ir_measures qrels/xquad-r.de.txt runs/example.en-de.txt AP@1000 nDCG@10 R@1 R@10
