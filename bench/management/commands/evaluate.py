import argparse
import contextlib
import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from bench.evaluate import (
    DEFAULT_CUTOFFS,
    DEFAULT_TEXT_WEIGHTS,
    Progress,
    evaluation_report,
    evaluation_run,
    words_all_runs,
)
from bench.evaluate_synthetic import synthetic_set_write, synthetic_specs
from bench.labelled import LOADERS, DatasetError, labelled_set_load
from bench.text_relevance import DEFAULT_COUNT, DEFAULT_SEED, text_relevance_set
from search.ml.encoders import EncoderUnavailable
from search.selectors import MAX_WEIGHT


class Command(BaseCommand):
    help = (
        "Measure search relevance on a labelled set: import it into a profile of its own, index it with the "
        "configured model and captioner, run every labelled query and report Recall@1/5/10 and MRR for the vector "
        "channel, the text channel and hybrid ranking, plus a sweep of text weight × cutoff with the best setting "
        "marked. See docs/relevance.md."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dataset",
            type=Path,
            help="A COCO/Karpathy captions JSON file, or a folder of images with NAME.queries.txt.",
        )
        parser.add_argument(
            "--write-synthetic",
            type=Path,
            metavar="DIR",
            help="Write the synthetic coloured-shapes set (folder format) into DIR and stop.",
        )
        parser.add_argument(
            "--text-set",
            action="store_true",
            help="Generate and evaluate the text-relevance set (Instagram-like captions, hashtags and "
            "alt texts; description queries by kind; docs/relevance.md). --limit: how many "
            f"photos (default {DEFAULT_COUNT}).",
        )
        parser.add_argument(
            "--seed", type=int, default=DEFAULT_SEED, help="--text-set: the generator's seed (default: %(default)s)."
        )
        parser.add_argument(
            "--words-all",
            action="store_true",
            help="Also run the text and hybrid rows with every query word required "
            "(RankingOptions(words='all')), where the ranking has that mode.",
        )
        parser.add_argument(
            "--format", choices=sorted(LOADERS), help="Dataset format (default: coco for a file, folder for a folder)."
        )
        parser.add_argument(
            "--images", type=Path, help="coco: folder holding the image files (default: the JSON file's folder)."
        )
        parser.add_argument("--split", default="test", help="Karpathy split to evaluate (default: %(default)s).")
        parser.add_argument("--limit", type=int, help="Only the first N images (and their queries).")
        parser.add_argument(
            "--text-weights",
            type=_floats,
            default=DEFAULT_TEXT_WEIGHTS,
            metavar="W,W,…",
            help="Sweep: text weights against a vector weight of 1 (default: "
            f"{','.join(f'{w:g}' for w in DEFAULT_TEXT_WEIGHTS)}).",
        )
        parser.add_argument(
            "--cutoffs",
            type=_floats,
            default=DEFAULT_CUTOFFS,
            metavar="C,C,…",
            help=f"Sweep: relevance cutoffs (default: {','.join(f'{c:g}' for c in DEFAULT_CUTOFFS)}).",
        )
        parser.add_argument("--batch-size", type=int, help="Photos per model batch when indexing.")
        parser.add_argument(
            "--workers",
            type=int,
            default=1,
            help="Threads running queries, each with its own database connection (default: 1).",
        )
        parser.add_argument(
            "--keep",
            action="store_true",
            help="Keep the evaluate-NAME profile (and its vectors) for the next run instead of "
            "removing it; it then shows up in search like any profile.",
        )
        parser.add_argument("--json", action="store_true", help="Print one JSON object instead of tables.")
        parser.add_argument("--no-progress", action="store_true", help="Do not draw progress bars.")

    def handle(self, *args, dataset, limit, text_weights, cutoffs, batch_size, **options):
        if options["write_synthetic"]:
            folder = synthetic_set_write(folder=options["write_synthetic"])
            self.stdout.write(
                f"Wrote {len(synthetic_specs())} labelled photos to {folder}; evaluate them with: "
                f"python manage.py evaluate --dataset {folder}"
            )
            return
        if dataset is None and not options["text_set"]:
            raise CommandError(
                "Give --dataset PATH or --text-set (or --write-synthetic DIR to make a small labelled set)."
            )
        if dataset is not None and options["text_set"]:
            raise CommandError("Give either --dataset or --text-set, not both.")
        if limit is not None and limit < 1:
            raise CommandError("--limit must be at least 1.")
        if batch_size is not None and batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        if options["workers"] < 1:
            raise CommandError("--workers must be at least 1.")
        if not text_weights or any(not 0 <= w <= MAX_WEIGHT for w in text_weights):
            raise CommandError(f"--text-weights must be between 0 and {MAX_WEIGHT:g}.")
        if not cutoffs or any(not 0 <= c <= 2 for c in cutoffs):
            raise CommandError("--cutoffs must be between 0 and 2 (cosine distances).")
        extra_runs = words_all_runs() if options["words_all"] else []
        with contextlib.ExitStack() as stack:
            if options["text_set"]:
                labelled = stack.enter_context(text_relevance_set(count=limit or DEFAULT_COUNT, seed=options["seed"]))
            else:
                try:
                    labelled = labelled_set_load(
                        path=dataset,
                        format=options["format"],
                        limit=limit,
                        split=options["split"],
                        images_dir=options["images"],
                    )
                except DatasetError as exc:
                    raise CommandError(str(exc)) from None
            evaluation = self._evaluate(labelled, text_weights, cutoffs, batch_size, extra_runs, options)
        if options["json"]:
            self.stdout.write(json.dumps(evaluation.as_dict()))
        else:
            self.stdout.write(evaluation_report(evaluation, highlight=self.style.SUCCESS))

    def _evaluate(self, labelled, text_weights, cutoffs, batch_size, extra_runs, options):
        bars = _Bars(self.stderr._out, disabled=options["no_progress"])  # stderr: --json output stays clean
        try:
            return evaluation_run(
                labelled=labelled,
                text_weights=text_weights,
                cutoffs=cutoffs,
                keep=options["keep"],
                batch_size=batch_size,
                workers=options["workers"],
                extra_runs=extra_runs,
                progress=Progress(
                    step=(lambda message: None) if options["json"] else (lambda m: self.stderr.write(f"… {m}")),
                    start=bars.start,
                    advance=bars.advance,
                ),
            )
        except EncoderUnavailable as exc:
            raise CommandError(str(exc)) from None
        finally:
            bars.close()


def _floats(value: str) -> tuple[float, ...]:
    try:
        return tuple(float(part) for part in value.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {value!r}") from None


class _Bars:
    """One tqdm bar per phase (importing, indexing, searching)."""

    def __init__(self, file, *, disabled: bool):
        self.file, self.disabled, self.bar = file, disabled, None

    def start(self, label: str, total: int) -> None:
        self.close()
        self.bar = tqdm(total=total, desc=label, file=self.file, disable=self.disabled or None)

    def advance(self, count: int) -> None:
        if self.bar is not None:
            self.bar.update(count)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
