"""``hybrid-plugin index --encoder DIR --corpus PATH --out DIR --shards N``: a Faiss index from the stock
``pyserini.encode`` run in shards on several processes, merged with Pyserini's own tool."""

from __future__ import annotations

import argparse
import shlex

from hybrid_plugin.cli.arguments import positive_int


def device_list(text: str) -> tuple[str, ...]:
    """``cuda:0,cuda:1`` -> ``("cuda:0", "cuda:1")`` (at least one device)."""
    found = tuple(name.strip() for name in text.split(",") if name.strip())
    if not found:
        raise argparse.ArgumentTypeError(f"expected devices separated by commas, e.g. cpu or cuda:0,cuda:1; "
                                         f"got {text!r}")
    return found


def run(args: argparse.Namespace) -> None:
    from hybrid_plugin.pyserini.export import read_export  # loads huggingface_hub: keep --help fast
    from hybrid_plugin.pyserini.sharded import RECORD_FILE, encode_corpus_sharded

    index = encode_corpus_sharded(args.encoder, args.corpus, args.out, shards=args.shards, parallel=args.parallel,
                                  batch_size=args.batch_size, max_length=args.max_length, device=args.device,
                                  threads=args.threads, overwrite=args.overwrite)
    print(f"wrote {index.path}: {index.docs} documents, {index.dimension} dimensions, {index.shards} shards "
          f"({index.parallel} at a time, {index.threads} threads each)")
    print("documents per shard: " + " ".join(str(n) for n in index.docs_per_shard))
    print("seconds per shard:   " + " ".join(f"{s:.1f}" for s in index.seconds_per_shard)
          + f" (merge {index.merge_seconds:.1f} s)")
    print("search it:")
    print("  " + shlex.join(read_export(args.encoder).search_args(index.path, "TOPICS.tsv", "RUN.txt")))
    print(f"(the record: {index.path / RECORD_FILE})")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "index",
        help="encode a corpus with Pyserini in shards on several processes and merge them into one Faiss index",
        description="Run the stock `python -m pyserini.encode ... --shard-id i --shard-num N ... --to-faiss` once "
                    "per shard with the flags of an exported encoder (its pyserini.json), PARALLEL processes at a "
                    "time with their threads limited, merge the shards with `python -m "
                    "pyserini.index.merge_faiss_indexes`, and write OUT: a folder `python -m pyserini.search.faiss "
                    "--index OUT` opens, with the same documents and vectors, in the same order, as one "
                    "unsharded encode. Nothing is written unless every shard succeeds.",
    )
    parser.add_argument("--encoder", required=True, metavar="DIR",
                        help="an exported encoder (`hybrid-plugin export MODEL DIR`)")
    parser.add_argument("--corpus", required=True, metavar="PATH",
                        help='a Pyserini JSONL corpus: a .jsonl file or a folder of them ({"id", "contents"} per '
                             "line, as `hybrid-plugin prepare` writes)")
    parser.add_argument("--out", required=True, metavar="DIR", help="the index folder to create")
    parser.add_argument("--shards", required=True, type=positive_int, metavar="N",
                        help="slices of the corpus (pyserini.encode --shard-num)")
    parser.add_argument("--parallel", type=positive_int, metavar="P",
                        help="processes at a time (default: all shards)")
    parser.add_argument("--batch-size", type=positive_int, default=32, metavar="B",
                        help="documents per batch (default: 32)")
    parser.add_argument("--max-length", type=positive_int, metavar="L",
                        help="tokens per document (default: the export's, the model's max_seq_length)")
    parser.add_argument("--device", type=device_list, default=("cpu",), metavar="D[,D...]",
                        help="device of the shards, several used in turn, e.g. cuda:0,cuda:1 (default: cpu)")
    parser.add_argument("--threads", type=positive_int, metavar="T",
                        help="math-library threads per process (default: the cores divided by P)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace an earlier output in OUT (a folder the plugin did not make is never replaced)")
    parser.set_defaults(func=run)
