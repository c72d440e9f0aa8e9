from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from bench.report import figures_text
from bench.text_tower import text_tower_benchmark
from search.ml.encoders import EncoderConfig, EncoderUnavailable, OpenClipEncoder
from search.ml.text_tower import REDUCED_PRECISIONS


class Command(BaseCommand):
    help = (
        "Benchmark the query text tower on the CPU with float32, float16 and int8 weights "
        "(PHOTOSEARCH_TEXT_TOWER_PRECISION): ms for one 5-word query and for a batch at 1 and 2 torch threads "
        "(medians of interleaved calls), and how close each one's vectors are to float32's over 200 varied queries: "
        "cosine, and the overlap of their top-10 / top-100 neighbours among 10,000 random unit vectors or, with "
        "--library, the photos' stored vectors. Random weights by default (the real cost, but only a proxy for the "
        "agreement): run it on the real weights before choosing int8."
    )

    def add_arguments(self, parser):
        parser.add_argument("--model", default=settings.PHOTOSEARCH_CLIP_MODEL, help="open_clip architecture.")
        parser.add_argument(
            "--pretrained", default="none", help="Weights: none (random, default), a tag or a checkpoint path."
        )
        parser.add_argument(
            "--seed", type=int, default=settings.PHOTOSEARCH_CLIP_SEED, help="Seed for --pretrained none."
        )
        parser.add_argument("--threads", default="1,2", help="torch thread counts to time, comma-separated.")
        parser.add_argument("--repeat", type=int, default=20, help="Timed calls per variant; medians are reported.")
        parser.add_argument("--batch", type=int, default=32, help="Queries in the timed batch (default: %(default)s).")
        parser.add_argument("--queries", type=int, default=200, help="Queries compared (at most 800).")
        parser.add_argument(
            "--library",
            action="store_true",
            help="Neighbours among the stored photo vectors of this model and weights (at most "
            "100,000), not random unit vectors.",
        )
        parser.add_argument(
            "--precisions",
            default="float32,float16,int8",
            help="Text tower weights compared, comma-separated; float32 is the reference.",
        )
        parser.add_argument("--json", action="store_true", help="Print one JSON object instead of a table.")

    def handle(self, *args, model, pretrained, seed, threads, repeat, batch, queries, library, precisions, **options):
        try:
            thread_counts = [int(count) for count in threads.split(",")]
        except ValueError:
            raise CommandError("--threads is a comma-separated list of whole numbers, e.g. 1,2.") from None
        if repeat < 1 or batch < 1 or not 10 <= queries <= 800 or min(thread_counts) < 1:
            raise CommandError("Need --repeat >= 1, --batch >= 1, 10 <= --queries <= 800, threads >= 1.")
        say = (lambda message: None) if options["json"] else (lambda message: self.stderr.write(f"… {message}"))
        names = list(dict.fromkeys(["float32", *(name.strip() for name in precisions.split(",") if name.strip())]))
        if not set(names) <= {"float32", *REDUCED_PRECISIONS}:
            raise CommandError(f"--precisions: each of float32, {', '.join(REDUCED_PRECISIONS)}.")
        encoders = {}
        for name in names:  # one model each: what PHOTOSEARCH_TEXT_TOWER_PRECISION builds
            say(f"loading {model} ({pretrained}) with {name} text tower weights")
            try:
                encoders[name] = OpenClipEncoder(
                    EncoderConfig(model=model, pretrained=pretrained, device="cpu", seed=seed, text_precision=name)
                )
            except EncoderUnavailable as exc:
                raise CommandError(str(exc)) from None
            if encoders[name].text_precision != name:
                raise CommandError(f"{model} has no {name} text tower here (see the log above).")
        photos = _library_vectors(encoders["float32"].model_id) if library else None
        result = text_tower_benchmark(
            encoders, threads=thread_counts, repeat=repeat, batch=batch, query_count=queries, photos=photos, on_step=say
        )
        self.stdout.write(figures_text(result.as_dict(), as_json=options["json"]))


def _library_vectors(model_id: str):
    import numpy as np

    from profiles.models import Photo
    from search.ml.query_embedding import vector_as_array

    stored = Photo.objects.filter(embedding_model=model_id, embedding__isnull=False).values_list(
        "embedding", flat=True
    )[:100_000]
    vectors = [vector_as_array(vector) for vector in stored.iterator(chunk_size=2_000)]
    if len(vectors) < 100:
        raise CommandError(f"--library: only {len(vectors)} photos have {model_id} vectors; need at least 100.")
    return np.stack(vectors).astype(np.float32)
