"""Relevance evaluation behind ``manage.py evaluate``: how well search finds the right photo for a description, per
ranking channel and per fusion setting, on a labelled set of photos.

A labelled set (``bench.labelled``: images plus the query lines that name them) is imported into a profile of
its own through the ordinary ingest services, indexed with the configured model and captioner
(``search.services.embedding.photos_embed``) and queried through ``search.selectors.photo_search``, the selector the
search page and the API use, restricted to that profile:

- ``vector``: the vector channel alone (text weight 0, no cutoff), the figure published retrieval results measure;
- ``text``: the full-text channel alone (photos' own words and generated captions);
- ``hybrid``: both, fused with the configured weights and cutoff — what users get today;
- a sweep of text weight × cutoff, so the best setting for these photos can be read off.

Metrics over the first ``PAGE`` results: Recall@K is the share of queries with a right photo among the first K,
MRR the mean of 1 / (rank of the first right photo), 0 when none is in the page. A query text labelled on several
photos counts once and is found when any of them is. ``results`` is how many photos a query returned (at most
``PAGE``): the cutoff's effect on how much a user has to look through.
"""

from __future__ import annotations

import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from django.conf import settings
from django.db import connections
from django.test import override_settings

from bench.labelled import LabelledSet
from profiles.images import read_local_image
from profiles.models import Photo, Profile, SourceKind
from profiles.services.photos import SKIPPED, records_ingest
from profiles.services.profiles import profile_get_or_create
from profiles.sources.base import SourceRecord
from search.ml.captions import get_captioner
from search.ml.encoders import Encoder, EncoderUnavailable, get_encoder
from search.selectors import InvalidQuery, RankingOptions, SearchFilters, photo_search
from search.services.embedding import photos_embed

PAGE = 10
RECALL_AT = (1, 5, 10)
DEFAULT_TEXT_WEIGHTS = (0.5, 1.0, 2.0)  # relative to a vector weight of 1: only the ratio changes the order
DEFAULT_CUTOFFS = (0.0, 0.04, 0.08, 0.15)
PROFILE_PREFIX = "evaluate-"


# --- Metrics ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Metrics:
    queries: int
    recall_at_1: float
    recall_at_5: float
    recall_at_10: float
    mrr: float
    mean_results: float

    def as_dict(self) -> dict:
        return {key: round(value, 4) if isinstance(value, float) else value for key, value in asdict(self).items()}


def metrics_from_ranks(ranks: Sequence[int | None], result_counts: Sequence[int] | None = None) -> Metrics:
    """Recall@1/5/10 and MRR from each query's rank of its first right photo (1-based; None: not in the page)."""
    count = len(ranks)
    if not count:
        return Metrics(0, 0.0, 0.0, 0.0, 0.0, 0.0)
    recall = {k: sum(1 for rank in ranks if rank is not None and rank <= k) / count for k in RECALL_AT}
    mrr = sum(1 / rank for rank in ranks if rank is not None) / count
    mean_results = sum(result_counts) / count if result_counts is not None else 0.0
    return Metrics(count, recall[1], recall[5], recall[10], mrr, mean_results)


def first_relevant_rank(ranked_ids: Iterable[int], relevant: set[int]) -> int | None:
    return next((position for position, pid in enumerate(ranked_ids, start=1) if pid in relevant), None)


# --- Runs ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """One way of ranking: ranking overrides for ``photo_search`` and which hits count (a channel's own only)."""

    name: str
    ranking: RankingOptions
    channel: str | None = None  # "vector" / "text": keep only hits that channel found; None: every hit


def channel_runs() -> list[Run]:
    """Each channel alone (no cutoff: a pure ranking, as published retrieval figures are), then both fused with the
    configured settings."""
    return [
        Run("vector", RankingOptions(text_weight=0, cutoff=0), channel="vector"),
        Run("text", RankingOptions(vector_weight=0, cutoff=0), channel="text"),
        Run("hybrid", RankingOptions()),
    ]


def words_all_runs() -> list[Run]:
    """The text channel and hybrid ranking again with ``words="all"`` (every word of the query required), for
    comparison with the default mode."""
    return [
        Run("text words=all", RankingOptions(vector_weight=0, cutoff=0, words="all"), channel="text"),
        Run("hybrid words=all", RankingOptions(words="all")),
    ]


def sweep_runs(
    *, text_weights: Sequence[float] = DEFAULT_TEXT_WEIGHTS, cutoffs: Sequence[float] = DEFAULT_CUTOFFS
) -> list[Run]:
    """Hybrid ranking for every text weight × cutoff, the vector weight fixed at 1 (only the ratio matters)."""
    return [
        Run(
            f"text_weight={weight:g} cutoff={cutoff:g}",
            RankingOptions(vector_weight=1.0, text_weight=weight, cutoff=cutoff),
        )
        for weight in text_weights
        for cutoff in cutoffs
    ]


@dataclass
class SweepResult:
    text_weight: float
    cutoff: float
    metrics: Metrics
    best: bool = False

    def as_dict(self) -> dict:
        return {
            "vector_weight": 1.0,
            "text_weight": self.text_weight,
            "cutoff": self.cutoff,
            **self.metrics.as_dict(),
            "best": self.best,
        }


@dataclass
class Evaluation:
    dataset: str
    format: str
    photos: int
    queries: int
    model: str
    captioner: str
    configured: dict  # the settings the ``hybrid`` row ran with
    channels: dict[str, Metrics]
    sweep: list[SweepResult]
    skipped_images: int = 0  # missing on disk or not a usable image
    skipped_queries: int = 0  # refused by the search (too long…) or about skipped images only
    seconds: dict[str, float] = field(default_factory=dict)
    kinds: dict[str, dict[str, Metrics]] = field(default_factory=dict)  # query kind → channel row → metrics
    note: str = ""

    @property
    def best(self) -> SweepResult | None:
        return next((row for row in self.sweep if row.best), None)

    def as_dict(self) -> dict:
        best = self.best
        return {
            "dataset": self.dataset,
            "format": self.format,
            "photos": self.photos,
            "queries": self.queries,
            "skipped_images": self.skipped_images,
            "skipped_queries": self.skipped_queries,
            "model": self.model,
            "captioner": self.captioner,
            "page": PAGE,
            "configured": self.configured,
            "channels": {name: metrics.as_dict() for name, metrics in self.channels.items()},
            "sweep": [row.as_dict() for row in self.sweep],
            "best": best.as_dict() if best else None,
            "seconds": {name: round(value, 2) for name, value in self.seconds.items()},
            **(
                {
                    "kinds": {
                        kind: {name: metrics.as_dict() for name, metrics in rows.items()}
                        for kind, rows in self.kinds.items()
                    }
                }
                if self.kinds
                else {}
            ),
            **({"note": self.note} if self.note else {}),
        }


def best_index(rows: Sequence[Metrics]) -> int | None:
    """The best setting: highest MRR, then R@1, R@5, R@10; on a tie the one that returns fewer photos."""
    if not rows:
        return None
    return max(
        range(len(rows)),
        key=lambda i: (
            round(rows[i].mrr, 9),
            rows[i].recall_at_1,
            rows[i].recall_at_5,
            rows[i].recall_at_10,
            -rows[i].mean_results,
            -i,
        ),
    )


@dataclass(frozen=True)
class Progress:
    """Callbacks for a caller that shows progress: a line per step, and a bar per phase (import, index, search)."""

    step: Callable[[str], None] = lambda message: None
    start: Callable[[str, int], None] = lambda label, total: None
    advance: Callable[[int], None] = lambda count: None


def evaluation_run(
    *,
    labelled: LabelledSet,
    text_weights: Sequence[float] = DEFAULT_TEXT_WEIGHTS,
    cutoffs: Sequence[float] = DEFAULT_CUTOFFS,
    keep: bool = False,
    batch_size: int | None = None,
    workers: int = 1,
    extra_runs: Sequence[Run] = (),
    progress: Progress = Progress(),
) -> Evaluation:
    """Import ``labelled`` into a profile of its own, index it with the configured model and captioner, run every
    query through ``photo_search`` for each channel and sweep setting, and score the rankings.

    Without ``keep`` the profile is a fresh one (``evaluate-NAME-xxxxxxxx``) with its thumbnails in a temporary
    media folder, and both are removed at the end. With ``keep`` it is ``evaluate-NAME`` in the ordinary media
    folder and stays (shown in search like any profile): a rerun imports nothing new and embeds only what the
    current model has not, so trying another model or captioner costs only the indexing. ``workers`` threads
    (each with its own database connection) run the queries. Raises ``EncoderUnavailable`` when the model cannot
    be loaded. ``extra_runs`` (e.g. ``words_all_runs()``) are reported as channel rows after the three channels.
    A set whose queries have kinds (``LabelledSet.kinds``) also gets every channel row per kind.
    """
    encoder = get_encoder()
    captioner = get_captioner(encoder)
    seconds: dict[str, float] = {}
    handle = PROFILE_PREFIX + labelled.name + ("" if keep else f"-{uuid.uuid4().hex[:8]}")
    with tempfile.TemporaryDirectory(prefix="evaluate-") as scratch:
        media = {} if keep else {"MEDIA_ROOT": str(Path(scratch) / "media")}
        with override_settings(PHOTOSEARCH_AUTO_EMBED=False, **media):
            try:
                profile = profile_get_or_create(
                    source_kind=SourceKind.FOLDER, handle=handle, display_name=f"Evaluation: {labelled.name}"
                )
                # A kept profile may hold images of an earlier run with another --limit: they would be distractors.
                profile.photos.exclude(source_id__in=[r.source_id for r in labelled.records]).delete()
                skipped = _import(profile, labelled, progress, seconds)
                _index(profile, encoder, captioner, batch_size, progress, seconds)
                questions, unanswerable = _questions(profile, labelled)
                channels = channel_runs() + list(extra_runs)
                runs = channels + sweep_runs(text_weights=text_weights, cutoffs=cutoffs)
                ranks, counts, answered, refused = _search(
                    profile, questions, runs, encoder, workers, progress, seconds
                )
            finally:
                if not keep:
                    Profile.objects.filter(source_kind=SourceKind.FOLDER, handle=handle).delete()
    metrics = [metrics_from_ranks(ranks[i], counts[i]) for i in range(len(runs))]
    sweep = [
        SweepResult(run.ranking.text_weight, run.ranking.cutoff, row)
        for run, row in zip(runs[len(channels) :], metrics[len(channels) :], strict=True)
    ]
    best = best_index([row.metrics for row in sweep])
    if best is not None:
        sweep[best].best = True
    return Evaluation(
        dataset=labelled.name,
        format=labelled.format,
        photos=len(labelled.records) - skipped,
        queries=len(questions) - refused,
        model=encoder.model_id,
        captioner=captioner.name,
        configured={
            "vector_weight": settings.PHOTOSEARCH_VECTOR_WEIGHT,
            "text_weight": settings.PHOTOSEARCH_TEXT_WEIGHT,
            "cutoff": settings.PHOTOSEARCH_CUTOFF,
            "rrf_k": settings.PHOTOSEARCH_RRF_K,
        },
        channels={run.name: row for run, row in zip(channels, metrics[: len(channels)], strict=True)},
        sweep=sweep,
        skipped_images=labelled.missing_images + skipped,
        skipped_queries=unanswerable + refused,
        seconds=seconds,
        kinds=_by_kind(labelled.kinds, channels, answered, ranks, counts),
        note=labelled.note,
    )


def _by_kind(
    kinds: dict[str, str], channels: list[Run], answered: list[str], ranks, counts
) -> dict[str, dict[str, Metrics]]:
    """Every channel row's metrics over each kind's queries alone (kinds in the order they first appear)."""
    if not kinds:
        return {}
    grouped: dict[str, list[int]] = {}
    for position, text in enumerate(answered):
        grouped.setdefault(kinds.get(text, "other"), []).append(position)
    return {
        kind: {
            run.name: metrics_from_ranks([ranks[i][p] for p in positions], [counts[i][p] for p in positions])
            for i, run in enumerate(channels)
        }
        for kind, positions in grouped.items()
    }


def evaluation_report(evaluation: Evaluation, *, highlight: Callable[[str], str] = lambda line: line) -> str:
    """The tables a person reads: channels, the sweep with the best row marked, and the setting to use. ``highlight``
    styles the best row and the advice (a terminal colour in ``manage.py evaluate``)."""
    configured = evaluation.configured
    lines = [
        f"{evaluation.queries:,} queries on {evaluation.photos:,} photos ({evaluation.dataset}, "
        f"{evaluation.format}); model {evaluation.model}, captioner {evaluation.captioner}."
    ]
    if evaluation.skipped_images or evaluation.skipped_queries:
        lines.append(
            f"Skipped: {evaluation.skipped_images:,} images (missing or unusable), "
            f"{evaluation.skipped_queries:,} queries."
        )
    width = max(10, *(len(name) + 2 for name in evaluation.channels))
    lines += ["", f"{'channel':<{width}}{_HEADER}"]
    for name, metrics in evaluation.channels.items():
        lines.append(f"{name:<{width}}{_row(metrics)}")
    lines.append(
        f"(hybrid: vector weight {configured['vector_weight']:g}, text weight {configured['text_weight']:g}, "
        f"cutoff {configured['cutoff']:g}, k {configured['rrf_k']:g}; results: photos returned, at most {PAGE})"
    )
    if evaluation.kinds:
        lines += ["", "Per query kind:", f"  {'kind':<12}{'queries':>8}  {'channel':<{width}}{_HEADER}"]
        for kind, rows in evaluation.kinds.items():
            for position, (name, metrics) in enumerate(rows.items()):
                head = f"{kind:<12}{metrics.queries:>8}" if position == 0 else " " * 20
                lines.append(f"  {head}  {name:<{width}}{_row(metrics)}")
    if evaluation.note:
        lines += ["", f"Note: {evaluation.note}"]
    lines += ["", "Sweep (hybrid, vector weight 1):", f"  {'text w':>6}  {'cutoff':>6}  {_HEADER}"]
    for row in evaluation.sweep:
        line = f"{'*' if row.best else ' '} {row.text_weight:>6g}  {row.cutoff:>6g}  {_row(row.metrics)}"
        lines.append(highlight(line + "  ← best") if row.best else line)
    best = evaluation.best
    if best is not None:
        hybrid = evaluation.channels["hybrid"]
        lines += [
            "",
            highlight(
                f"Best: PHOTOSEARCH_VECTOR_WEIGHT=1 PHOTOSEARCH_TEXT_WEIGHT={best.text_weight:g} "
                f"PHOTOSEARCH_CUTOFF={best.cutoff:g} (MRR {best.metrics.mrr:.3f}, R@1 {best.metrics.recall_at_1:.3f}; "
                f"current settings: MRR {hybrid.mrr:.3f}, R@1 {hybrid.recall_at_1:.3f})."
            ),
        ]
    timing = ", ".join(f"{name} {value:.1f} s" for name, value in evaluation.seconds.items())
    lines.append(f"Time: {timing}.")
    return "\n".join(lines)


_HEADER = f"{'R@1':>7}{'R@5':>7}{'R@10':>7}{'MRR':>7}{'results':>9}"


def _row(metrics: Metrics) -> str:
    return (
        f"{metrics.recall_at_1:>7.3f}{metrics.recall_at_5:>7.3f}{metrics.recall_at_10:>7.3f}"
        f"{metrics.mrr:>7.3f}{metrics.mean_results:>9.1f}"
    )


def _import(profile: Profile, labelled: LabelledSet, progress: Progress, seconds: dict) -> int:
    progress.step(f"importing {len(labelled.records):,} images into profile {profile.handle!r}")
    progress.start("Importing", len(labelled.records))
    skipped = 0

    def counted(record: SourceRecord, outcome: str, reason: str) -> None:
        nonlocal skipped
        skipped += outcome == SKIPPED
        progress.advance(1)

    started = time.perf_counter()
    records_ingest(
        profile=profile, records=labelled.records, read=lambda r: read_local_image(r.image_path), on_item=counted
    )
    seconds["import"] = time.perf_counter() - started
    return skipped


def _index(
    profile: Profile, encoder: Encoder, captioner, batch_size: int | None, progress: Progress, seconds: dict
) -> None:
    progress.step(f"indexing with {encoder.model_id}, captioner {captioner.name}")
    started = time.perf_counter()
    summary = photos_embed(
        profile_ids=[profile.pk],
        batch_size=batch_size or settings.PHOTOSEARCH_EMBED_BATCH_SIZE,
        encoder=encoder,
        captioner=captioner,
        on_start=lambda total: progress.start("Indexing", total),
        on_batch=progress.advance,
    )
    seconds["index"] = time.perf_counter() - started
    if summary.failed:
        progress.step(
            f"{len(summary.failed)} photos could not be indexed (unreadable thumbnails); they count as misses"
        )


def _questions(profile: Profile, labelled: LabelledSet) -> tuple[list[tuple[str, set[int]]], int]:
    """(query, ids of the photos search should return for it) for every query about an imported photo, and how
    many queries were about skipped images only. A repeated image is found as its first copy."""
    photo_for = {
        source_id: duplicate_of or pid
        for source_id, pid, duplicate_of in Photo.objects.filter(profile=profile).values_list(
            "source_id", "id", "duplicate_of_id"
        )
    }
    questions, unanswerable = [], 0
    for text, source_ids in labelled.queries.items():
        relevant = {photo_for[s] for s in source_ids if s in photo_for}
        if relevant:
            questions.append((text, relevant))
        else:
            unanswerable += 1
    return questions, unanswerable


def _search(
    profile: Profile, questions, runs: list[Run], encoder: Encoder, workers: int, progress: Progress, seconds: dict
) -> tuple[list[list[int | None]], list[list[int]], list[str], int]:
    """Every question through every run: per run, each answered question's rank of its first right photo and how
    many photos came back; the answered questions' texts (in that order); and how many questions the selector
    refused (too long…)."""
    progress.step(f"embedding {len(questions):,} queries")
    started = time.perf_counter()
    encoders = {None: PrecomputedQueries(encoder, [text for text, _ in questions]), "text": TextOnly(encoder)}
    seconds["query_vectors"] = time.perf_counter() - started
    filters = SearchFilters(profile_ids=(profile.pk,))

    def answer(question) -> list[list[int]] | None:
        try:
            return [_ranked_ids(run, question[0], filters, encoders.get(run.channel, encoders[None])) for run in runs]
        except InvalidQuery:
            return None
        finally:
            progress.advance(len(runs))

    def answer_slice(index: int) -> list:
        try:
            return [answer(question) for question in questions[index::workers]]
        finally:
            connections.close_all()  # this thread's own connections

    progress.step(
        f"running {len(questions):,} queries × {len(runs)} rankings{f' in {workers} threads' if workers > 1 else ''}"
    )
    progress.start("Searching", len(questions) * len(runs))
    started = time.perf_counter()
    if workers <= 1:
        answers = [answer(question) for question in questions]
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            slices = list(pool.map(answer_slice, range(workers)))
        answers = [slices[i % workers][i // workers] for i in range(len(questions))]
    seconds["search"] = time.perf_counter() - started
    ranks: list[list[int | None]] = [[] for _ in runs]
    counts: list[list[int]] = [[] for _ in runs]
    texts: list[str] = []
    for (text, relevant), answered in zip(questions, answers, strict=True):
        if answered is not None:
            texts.append(text)
        for i, ids in enumerate(answered or []):
            ranks[i].append(first_relevant_rank(ids, relevant))
            counts[i].append(len(ids))
    return ranks, counts, texts, sum(answered is None for answered in answers)


def _ranked_ids(run: Run, text: str, filters: SearchFilters, encoder) -> list[int]:
    result = photo_search(query=text, filters=filters, limit=PAGE, ranking=run.ranking, encoder=encoder)
    if run.channel == "vector":
        hits = [hit for hit in result.hits if hit.vector_rank is not None]
    elif run.channel == "text":
        hits = [hit for hit in result.hits if hit.text_rank is not None]
    else:
        hits = result.hits
    return [hit.photo.pk for hit in hits]


class TextOnly:
    """An encoder that is never available: ``photo_search`` then answers from its text channel alone, as it does
    when the model cannot load, so the text run pays for no vector scan. Its own model id keeps the selector's
    query-vector cache from answering for it (were it to, the run's vector weight 0 would still leave the text
    order as it is)."""

    model_id = "evaluate/text-only"

    def __init__(self, encoder: Encoder):
        self.dimensions, self.device = encoder.dimensions, encoder.device

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        raise EncoderUnavailable("text channel only")


class PrecomputedQueries:
    """The configured encoder with every query's text vector computed up front, in batches (one model call per
    batch instead of one per query: what makes tens of thousands of COCO captions affordable on a CPU). A text it
    has not seen (a query the selector rewrote, e.g. with ``-exclusions``) goes to the model as usual."""

    BATCH = 256

    def __init__(self, encoder: Encoder, texts: Sequence[str]):
        self.encoder = encoder
        self.model_id, self.dimensions, self.device = encoder.model_id, encoder.dimensions, encoder.device
        self.vectors: dict[str, np.ndarray] = {}
        unique = list(dict.fromkeys(" ".join(text.replace('"', " ").split()) for text in texts))
        for start in range(0, len(unique), self.BATCH):
            batch = unique[start : start + self.BATCH]
            self.vectors.update(zip(batch, encoder.encode_texts(batch), strict=True))

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        missing = [text for text in texts if text not in self.vectors]
        if missing:
            self.vectors.update(zip(missing, self.encoder.encode_texts(missing), strict=True))
        return np.stack([self.vectors[text] for text in texts])

    def __getattr__(self, name):
        return getattr(self.encoder, name)
