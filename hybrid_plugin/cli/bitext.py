"""``hybrid-plugin bitext``: Tatoeba's xx -> eng / eng -> xx accuracy (and mAP) of a model, by resource group."""

from __future__ import annotations

import argparse
from pathlib import Path

from hybrid_plugin.cli.arguments import language_list, positive_int
from hybrid_plugin.files import atomic_files, check_output, claim_output


def run(args: argparse.Namespace) -> None:
    # torch-loading modules imported here, so that `hybrid-plugin --help` stays fast
    from hybrid_plugin.analysis.resource_groups import bitext_markdown
    from hybrid_plugin.data.loading import load_tatoeba
    from hybrid_plugin.evaluation.bitext import BITEXT_FILE, evaluate_bitext

    out = Path(args.out)
    check_output(out, overwrite=args.overwrite)  # every option checked before anything is read or written
    tatoeba = load_tatoeba(data=args.data, languages=args.languages)
    results = evaluate_bitext(tatoeba, args.model, training=args.training or (), model_name=args.model_name,
                              batch_size=args.batch_size, cache=not args.no_cache, device=args.device,
                              show_progress=not args.quiet)
    markdown = bitext_markdown(results)
    claim_output(out, "bitext")
    with atomic_files() as open_new:  # the record and its table change together
        for name, text in ((BITEXT_FILE, results.to_json()), ("bitext.md", markdown)):
            with open_new(out / name) as handle:
                handle.write(text)
    print(markdown, end="")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "bitext",
        help="Tatoeba bitext retrieval: xx->eng / eng->xx accuracy, error rate and mAP per language",
        description="For each Tatoeba language, every sentence against the other side's sentences by cosine "
                    "(exact nearest neighbour, a tie at the top counted as an error): accuracy = precision@1 in "
                    "both directions, error rate = 1 - accuracy (as LASER reports), mAP. Writes DIR/bitext.json "
                    "and DIR/bitext.md (languages grouped as trained / pretrained / unseen, with group means).",
    )
    parser.add_argument("--data", metavar="DIR", type=Path,
                        help="local copy of LASER's Tatoeba files (default: download them, verified)")
    parser.add_argument("--languages", metavar="L,L,...", type=language_list,
                        help="the plugin's codes to evaluate (default: all 112)")
    parser.add_argument("--model", metavar="M", help="model folder or hub id (default: the default model)")
    parser.add_argument("--model-name", metavar="NAME", help="the name to report")
    parser.add_argument("--training", metavar="L,L,...", type=language_list,
                        help="languages the model was fine-tuned on, for the resource groups (default: none)")
    parser.add_argument("--batch-size", metavar="N", type=positive_int, default=32, help="encoding batch size")
    parser.add_argument("--device", metavar="DEV", help="torch device (default: the best available)")
    parser.add_argument("--no-cache", action="store_true", help="do not read or add to the embedding cache")
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder")
    parser.add_argument("--overwrite", action="store_true", help="replace this command's earlier output in DIR")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.set_defaults(func=run)
