import json
from io import StringIO

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from bench.evaluate import Metrics, best_index, first_relevant_rank, metrics_from_ranks
from bench.evaluate_synthetic import shapes_model_train, synthetic_specs
from bench.labelled import DatasetError, coco_load, folder_load, labelled_set_load
from profiles.models import Photo, Profile
from tests.conftest import image_bytes

METRICS = ("recall_at_1", "recall_at_5", "recall_at_10", "mrr")


# --- Metrics ------------------------------------------------------------------------------------------------------


def test_metrics_are_recall_at_k_and_mean_reciprocal_rank_of_the_first_right_photo():
    # Four queries: right photo 1st, 3rd, not in the page, 7th.
    metrics = metrics_from_ranks([1, 3, None, 7], result_counts=[10, 10, 4, 8])

    assert metrics == Metrics(
        queries=4,
        recall_at_1=0.25,
        recall_at_5=0.5,
        recall_at_10=0.75,
        mrr=pytest.approx((1 + 1 / 3 + 0 + 1 / 7) / 4),
        mean_results=8.0,
    )


def test_the_rank_is_that_of_the_first_of_several_right_photos():
    assert first_relevant_rank([11, 12, 13, 14], {14, 12}) == 2
    assert first_relevant_rank([11, 12], {99}) is None
    assert metrics_from_ranks([]).queries == 0


def test_the_best_setting_has_the_highest_mrr_then_returns_fewer_photos():
    rows = [
        Metrics(10, 0.5, 0.8, 0.9, 0.60, 10.0),
        Metrics(10, 0.6, 0.8, 0.9, 0.70, 10.0),
        Metrics(10, 0.6, 0.8, 0.9, 0.70, 4.0),  # as good, and a shorter list to look through
        Metrics(10, 0.7, 0.7, 0.7, 0.65, 2.0),
    ]

    assert best_index(rows) == 2
    assert best_index([]) is None


# --- Labelled sets ------------------------------------------------------------------------------------------------


def test_coco_captions_json_gives_every_caption_as_a_query_for_its_image(tmp_path):
    (tmp_path / "val").mkdir()
    (tmp_path / "val" / "a.jpg").write_bytes(image_bytes(1))
    (tmp_path / "b.jpg").write_bytes(image_bytes(2))
    (tmp_path / "captions.json").write_text(
        json.dumps(
            {
                "images": [
                    {"id": 1, "file_name": "val/a.jpg"},
                    {"id": 2, "file_name": "b.jpg"},
                    {"id": 3, "file_name": "gone.jpg"},
                ],
                "annotations": [
                    {"image_id": 1, "caption": "A dog  on a beach."},
                    {"image_id": 1, "caption": "a dog"},
                    {"image_id": 2, "caption": "A dog"},
                    {"image_id": 2, "caption": "a red bus"},
                    {"image_id": 3, "caption": "nothing here"},
                ],
            }
        )
    )

    labelled = coco_load(tmp_path / "captions.json")

    assert [r.source_id for r in labelled.records] == ["val/a.jpg", "b.jpg"]
    assert all(r.text == "" for r in labelled.records)  # captions are the questions, never the photo's own words
    assert labelled.queries == {
        "A dog on a beach.": {"val/a.jpg"},
        "a dog": {"val/a.jpg"},
        "A dog": {"b.jpg"},
        "a red bus": {"b.jpg"},
    }
    assert labelled.missing_images == 1


def test_karpathy_split_json_keeps_one_split_and_finds_images_under_their_filepath(tmp_path):
    images = tmp_path / "coco"
    (images / "val2014").mkdir(parents=True)
    for name, seed in (("x.jpg", 1), ("y.jpg", 2), ("z.jpg", 3)):
        (images / "val2014" / name).write_bytes(image_bytes(seed))
    entry = lambda name, split, *texts: {  # noqa: E731
        "filepath": "val2014",
        "filename": name,
        "split": split,
        "sentences": [{"raw": t} for t in texts],
    }
    dataset = tmp_path / "dataset_coco.json"
    dataset.write_text(
        json.dumps(
            {
                "dataset": "coco",
                "images": [
                    entry("x.jpg", "test", "a cat on a sofa", "a sleeping cat"),
                    entry("y.jpg", "train", "a train"),
                    entry("z.jpg", "test", "two people walking"),
                ],
            }
        )
    )

    labelled = labelled_set_load(path=dataset, images_dir=images)

    assert labelled.format == "coco"
    assert [r.source_id for r in labelled.records] == ["val2014/x.jpg", "val2014/z.jpg"]
    assert set(labelled.queries) == {"a cat on a sofa", "a sleeping cat", "two people walking"}
    assert labelled_set_load(path=dataset, images_dir=images, limit=1).queries == {
        "a cat on a sofa": {"val2014/x.jpg"},
        "a sleeping cat": {"val2014/x.jpg"},
    }
    with pytest.raises(DatasetError, match="no images in split 'val'; it has test, train"):
        labelled_set_load(path=dataset, images_dir=images, split="val")
    with pytest.raises(DatasetError, match="None of the 2 images .* point --images"):
        labelled_set_load(path=dataset, images_dir=tmp_path)


def test_a_folder_reads_query_lines_from_sidecars_and_keeps_unlabelled_images_as_distractors(photo_folder):
    root = photo_folder(
        {
            "a.jpg": 1,
            "a.txt": "our dog at the beach #dog",
            "a.queries.txt": "dog on a beach\n\n  a   brown dog \n",
            "b.png": 2,
            "b.queries.txt": "a brown dog\n",
            "sub/c.jpg": 3,
        }
    )

    labelled = labelled_set_load(path=root)

    assert labelled.format == "folder" and labelled.name == "photos"
    assert [r.source_id for r in labelled.records] == ["a.jpg", "b.png", "sub/c.jpg"]
    assert labelled.records[0].text == "our dog at the beach #dog"  # the photo's own words, as import_folder reads
    assert labelled.queries == {"dog on a beach": {"a.jpg"}, "a brown dog": {"a.jpg", "b.png"}}
    assert folder_load(root).limited(1).queries == {"dog on a beach": {"a.jpg"}, "a brown dog": {"a.jpg"}}


def test_unreadable_datasets_are_refused_with_the_reason(tmp_path, photo_folder):
    (tmp_path / "bad.json").write_text("{not json")

    with pytest.raises(DatasetError, match="not a COCO or Karpathy captions file"):
        labelled_set_load(path=tmp_path / "bad.json")
    with pytest.raises(DatasetError, match="does not exist"):
        labelled_set_load(path=tmp_path / "missing")
    with pytest.raises(DatasetError, match="no labelled queries"):
        labelled_set_load(path=photo_folder({"a.jpg": 1}))
    with pytest.raises(DatasetError, match="needs a folder"):
        labelled_set_load(path=tmp_path / "bad.json", format="folder")


# --- The command, end to end --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shapes_checkpoint(tmp_path_factory):
    """A tiny open_clip model fitted to coloured shapes (seconds on a CPU), as a local checkpoint file."""
    return shapes_model_train(path=tmp_path_factory.mktemp("model") / "shapes.pt", model="photosearch-shapes")


@pytest.mark.django_db
def test_evaluate_reports_every_channel_and_hybrid_beats_each_channel_on_the_synthetic_set(
    tmp_path, settings, shapes_checkpoint
):
    settings.PHOTOSEARCH_CLIP_MODEL = "photosearch-shapes"
    settings.PHOTOSEARCH_CLIP_PRETRAINED = str(shapes_checkpoint)
    # Fusion alone: a cutoff trades recall for shorter lists, which the sweep measures separately.
    settings.PHOTOSEARCH_CUTOFF = 0
    call_command("evaluate", "--write-synthetic", str(tmp_path / "shapes"), stdout=StringIO())
    dataset = tmp_path / "shapes"
    out = StringIO()

    call_command("evaluate", "--dataset", str(dataset), "--json", "--keep", stdout=out, stderr=StringIO())

    report = json.loads(out.getvalue())
    channels = report["channels"]
    assert report["photos"] == report["queries"] == len(synthetic_specs()) == 32
    assert report["model"].startswith("photosearch-shapes/shapes-")
    # Half the photos name their colour and shape in their own words: the text channel finds those first; holding
    # some of a query's words (its colour) brings a few of the others into the first ten.
    assert channels["text"]["recall_at_1"] == 0.5 and 0.5 <= channels["text"]["recall_at_10"] < 0.75
    # The fitted model carries real signal: far better than chance (1/32 at rank 1, 10/32 in the first ten).
    assert channels["vector"]["recall_at_1"] >= 0.2 and channels["vector"]["recall_at_10"] >= 0.9
    # Fusion beats each channel where it counts. Not at every depth: a photo holding some of a query's words (its
    # colour) and looking right now competes with the right one among the first five.
    for metric in ("recall_at_1", "recall_at_10"):
        assert channels["hybrid"][metric] >= max(channels["vector"][metric], channels["text"][metric]), metric
    assert channels["hybrid"]["mrr"] > max(channels["vector"]["mrr"], channels["text"]["mrr"])
    assert len(report["sweep"]) == 12 and sum(row["best"] for row in report["sweep"]) == 1
    assert report["best"] == next(row for row in report["sweep"] if row["best"])
    assert report["best"]["mrr"] == max(row["mrr"] for row in report["sweep"])
    same_as_hybrid = next(row for row in report["sweep"] if row["text_weight"] == 1 and row["cutoff"] == 0)
    assert {m: same_as_hybrid[m] for m in METRICS} == {m: channels["hybrid"][m] for m in METRICS}

    # The vector channel's figures are those of an exact nearest-neighbour ranking of the stored vectors.
    profile = Profile.objects.get(handle="evaluate-shapes")
    photos = list(Photo.objects.filter(profile=profile).order_by("id"))
    from search.ml.encoders import get_encoder

    texts = [spec.query for spec in synthetic_specs()]
    queries = get_encoder().encode_texts(texts).astype(np.float16).astype(np.float32)
    vectors = np.array([list(photo.embedding) for photo in photos], dtype=np.float32)
    distance = 1 - (queries @ vectors.T) / np.linalg.norm(queries, axis=1)[:, None] / np.linalg.norm(vectors, axis=1)
    # "a red circle" is about 000-red-circle.png
    target = {
        text: next(i for i, p in enumerate(photos) if text[2:].replace(" ", "-") + "." in p.source_id) for text in texts
    }
    ranks = [int((distance[q] < distance[q, target[text]]).sum()) + 1 for q, text in enumerate(texts)]
    expected = metrics_from_ranks([rank if rank <= 10 else None for rank in ranks])
    for metric in METRICS:
        assert channels["vector"][metric] == pytest.approx(getattr(expected, metric), abs=1e-4), metric


@pytest.mark.django_db
def test_evaluate_prints_tables_marks_the_best_setting_and_cleans_up(photo_folder, encoder):
    root = photo_folder(
        {
            "a.jpg": 1,
            "a.txt": "red kite",
            "a.queries.txt": "red kite",
            "b.jpg": 2,
            "b.queries.txt": "green field\n",
            "c.jpg": 3,
        }
    )
    out = StringIO()

    call_command(
        "evaluate",
        "--dataset",
        str(root),
        "--format",
        "folder",
        "--text-weights",
        "1,2",
        "--cutoffs",
        "0,0.1",
        stdout=out,
        stderr=StringIO(),
    )

    table = out.getvalue()
    assert "2 queries on 3 photos (photos, folder); model photosearch-tiny/random-seed0" in table
    assert "channel       R@1    R@5   R@10    MRR  results" in table
    assert "text        0.500  0.500  0.500  0.500      0.5" in table  # "red kite" found by its words alone
    assert table.count("← best") == 1 and "Best: PHOTOSEARCH_VECTOR_WEIGHT=1 PHOTOSEARCH_TEXT_WEIGHT=" in table
    assert not Profile.objects.exists()  # the evaluation's profile is removed without --keep


@pytest.mark.django_db(transaction=True)  # worker threads have connections of their own: data must be committed
def test_queries_in_several_threads_give_the_same_figures(photo_folder, encoder):
    root = photo_folder(
        {
            "a.jpg": 1,
            "a.txt": "red kite",
            "a.queries.txt": "red kite\nkite",
            "b.jpg": 2,
            "b.queries.txt": "green field\nfield",
            "c.jpg": 3,
            "c.queries.txt": "blue sky",
        }
    )
    reports = []
    for workers in ("1", "3"):
        out = StringIO()
        call_command("evaluate", "--dataset", str(root), "--workers", workers, "--json", stdout=out, stderr=StringIO())
        reports.append(json.loads(out.getvalue()))

    assert reports[0]["queries"] == 5
    assert reports[0]["channels"] == reports[1]["channels"] and reports[0]["sweep"] == reports[1]["sweep"]
    assert not Profile.objects.exists()


def test_evaluate_refuses_bad_arguments(tmp_path):
    with pytest.raises(CommandError, match="does not exist"):
        call_command("evaluate", "--dataset", str(tmp_path / "nothing"))
    with pytest.raises(CommandError, match="--limit must be at least 1"):
        call_command("evaluate", "--dataset", str(tmp_path), "--limit", "0")
    with pytest.raises(CommandError, match="--cutoffs must be between 0 and 2"):
        call_command("evaluate", "--dataset", str(tmp_path), "--cutoffs", "3")
