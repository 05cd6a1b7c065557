"""``hybrid-plugin debias --model M --fit-on DATASET --out DIR``: fit a language-bias removal (centring, LIR or
LSAR) on text that is not the evaluation set, for ``evaluate --debias DIR`` (and, LSAR, a projected model)."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

from hybrid_plugin.cli.arguments import DATASET_HELP, language_list, positive_int
from hybrid_plugin.data.beir import beir_language_folders, is_beir_folder, read_beir
from hybrid_plugin.data.beir_sets import BEIR_SETS, fetch_beir_set
from hybrid_plugin.data.collection import ParallelQA
from hybrid_plugin.data.loading import BEIR_PREFIX, load_parallel_qa
from hybrid_plugin.debias.transform import METHODS
from hybrid_plugin.errors import UsageError
from hybrid_plugin.files import check_output, claim_output, staged_folder


def seed_number(text: str) -> int:
    """A seed: an integer from 0 to 2**32 - 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer from 0 to {2**32 - 1}, got {text!r}") from None
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(f"expected an integer from 0 to {2**32 - 1}, got {value}")
    return value


def _check(args: argparse.Namespace) -> None:
    """Every option that can be checked before anything is loaded."""
    if args.into_model is not None and args.method != "lsar":
        raise UsageError(f"--into-model needs --method lsar (one linear map for every text); {args.method} needs each "
                         "text's language, which a model's encode() does not know")
    if args.method == "center" and args.rank is not None:
        raise UsageError("--rank is for lir and lsar; center removes no directions")
    check_output(Path(args.out), overwrite=args.overwrite)
    if args.into_model is not None:
        check_output(Path(args.into_model), overwrite=args.overwrite, flag="--into-model")
        if Path(args.into_model).resolve() == Path(args.out).resolve():
            raise UsageError("--into-model and --out must be different folders")


def _corpus_texts(args: argparse.Namespace) -> tuple[ParallelQA, str]:
    """``--corpus-only``: the documents of the BEIR collection ``--fit-on`` names (queries and qrels unused), and
    the description the transform records."""
    from hybrid_plugin.evaluation.beir_debias import CORPUS_DESCRIPTION, beir_fit_texts  # the debias package

    key = args.dataset
    if args.limit is not None:
        raise UsageError("--limit keeps items of a collection; with --corpus-only draw documents with --per-language")
    if key in BEIR_SETS:
        folder = fetch_beir_set(key) if args.data is None else args.data
    elif args.data is None and (key.startswith(BEIR_PREFIX) or is_beir_folder(key) or beir_language_folders(key)):
        folder = Path(key.removeprefix(BEIR_PREFIX))
    else:
        raise UsageError(f"--corpus-only fits on the documents of a BEIR collection (beir:PATH or a named BEIR set), "
                         f"not {key!r}")
    beir = read_beir(folder, split=args.split, name=key if key in BEIR_SETS else None)
    return beir_fit_texts(beir, languages=args.languages), CORPUS_DESCRIPTION


def run(args: argparse.Namespace) -> None:
    _check(args)
    if args.corpus_only:
        qa, description = _corpus_texts(args)
    else:
        qa = load_parallel_qa(args.dataset, data=args.data, languages=args.languages, split=args.split)
        qa, description = qa.limit(args.limit), ""
    from hybrid_plugin.debias.fitting import fit_debias  # imports torch when the model loads: not for --help

    debias = fit_debias(args.model, qa, method=args.method, rank=args.rank, per_language=args.per_language,
                        seed=args.seed, batch_size=args.batch_size, cache=not args.no_cache, device=args.device,
                        show_progress=not args.quiet, description=description)
    out = Path(args.out)
    with staged_folder(out, overwrite=args.overwrite) as staged:
        debias.save(staged)
        claim_output(staged, "debias")
    print(f"fitted {debias.describe()}")
    print(f"wrote {out} (digest {debias.digest[:12]})")
    model = [] if args.model is None else ["--model", args.model]
    if args.corpus_only:
        print("evaluate the collection with it (fitted on its documents, not its queries or qrels):")
        command = ["hybrid-plugin", "beir", args.dataset, *model, "--debias", str(out), "--out", "DIR"]
    else:
        print("evaluate with it (on other data than it was fitted on):")
        command = ["hybrid-plugin", "evaluate", "--dataset", "DATASET", *model, "--debias", str(out)]
    print("  " + shlex.join(command))
    if args.into_model is not None:
        from hybrid_plugin.debias.module import with_projection  # imports torch

        with_projection(args.model, debias, out=args.into_model, overwrite=args.overwrite, device=args.device)
        print(f"wrote {args.into_model}: the model with the projection as its last layers (Dense, Normalize); "
              "SentenceTransformer(folder).encode applies it")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "debias",
        help="fit a language-bias removal (center, lir, lsar) for evaluate --debias, or a projected model",
        description="Encode texts of --fit-on (questions with the model's query prompt, candidate sentences with "
                    "its passage prompt; at most --per-language of each per language) and fit a language-bias "
                    "removal: center (subtract each language's mean), lir (project out each language's top "
                    "directions) or lsar (project out the subspace of the language means: one linear map). Writes "
                    "OUT/debias.json and debias.npz for `hybrid-plugin evaluate --debias OUT`; with --into-model "
                    "(lsar), also a copy of the model that applies the map. Fit on text that is not the evaluation "
                    "set. See docs/debias.md.",
    )
    parser.add_argument("--model", metavar="M", default=None,
                        help="a sentence-transformers model folder or hub id (default: the embedded "
                             "multilingual-e5-small)")
    parser.add_argument("--fit-on", dest="dataset", metavar="DATASET", required=True,
                        help=f"the texts to fit on: {DATASET_HELP}")
    parser.add_argument("--data", metavar="DIR", type=Path, help="local copy of a named set's files (no download)")
    parser.add_argument("--languages", metavar="L,L,...", type=language_list, help="fit only these languages")
    parser.add_argument("--limit", metavar="N", type=positive_int, help="keep the first N items of --fit-on")
    parser.add_argument("--corpus-only", action="store_true",
                        help="fit on the documents of the BEIR collection --fit-on names, each in both roles; its "
                             "queries and qrels are not used (domain adaptation for hybrid-plugin beir --debias: "
                             "transductive over the corpus, not over the judgments; docs/beir.md)")
    parser.add_argument("--split", default="test", metavar="NAME",
                        help="the qrels split of a BEIR --fit-on (default: test)")
    parser.add_argument("--method", choices=METHODS, default="lsar",
                        help="center, lir or lsar (default: lsar, the one that needs no language id)")
    parser.add_argument("--rank", type=positive_int, metavar="R", default=None,
                        help="directions removed: per language and role (lir), in all (lsar) (default: lir 1; "
                             "lsar the number of languages fitted minus 1)")
    parser.add_argument("--per-language", type=positive_int, metavar="N", default=None,
                        help="draw at most N texts per language and role (default: all)")
    parser.add_argument("--seed", type=seed_number, default=0, metavar="S", help="seed of that draw (default: 0)")
    parser.add_argument("--out", metavar="DIR", required=True, help="the folder to write (debias.json, debias.npz)")
    parser.add_argument("--into-model", metavar="MODEL_OUT", default=None,
                        help="also write the model with the lsar projection as a module (a normal "
                             "sentence-transformers folder)")
    parser.add_argument("--batch-size", type=positive_int, default=32, metavar="N",
                        help="encoding batch size (default: 32)")
    parser.add_argument("--device", default=None, help="torch device: cpu, cuda, cuda:N, mps")
    parser.add_argument("--no-cache", action="store_true", help="encode everything again (no embedding cache)")
    parser.add_argument("--overwrite", action="store_true", help="replace outputs this plugin wrote")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    parser.set_defaults(func=run)
