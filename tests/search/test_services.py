import pytest
from django.db import connection

from profiles.models import Photo, Profile
from profiles.services.imports import folder_import
from search.selectors import (
    RankingOptions,
    SearchFilters,
    embedding_index_name,
    embedding_profile_index_name,
    photo_search,
    photo_search_explain,
)
from search.services.embedding import photos_embed

pytestmark = pytest.mark.django_db


def test_embeddings_land_with_the_model_recorded(photo_folder, encoder):
    folder_import(path=photo_folder({"a.jpg": 1, "b.jpg": 2, "c.png": 3}), profile_name="p")

    summary = photos_embed(batch_size=2)

    assert summary.embedded == 3 and summary.failed == []
    for photo in Photo.objects.all():
        assert photo.embedding_model == encoder.model_id == "photosearch-tiny/random-seed0"
        assert len(photo.embedding) == encoder.dimensions == 64
        assert photo.embedded_at is not None
        assert abs(sum(x * x for x in photo.embedding) - 1.0) < 1e-2  # stored normalised


def test_a_second_run_embeds_nothing(photo_folder, encoder):
    folder_import(path=photo_folder({"a.jpg": 1, "b.jpg": 2}), profile_name="p")
    photos_embed()
    stamps = list(Photo.objects.order_by("id").values_list("embedded_at", flat=True))

    assert photos_embed().embedded == 0
    assert list(Photo.objects.order_by("id").values_list("embedded_at", flat=True)) == stamps


def test_photos_from_another_model_are_re_embedded(photo_folder, encoder):
    folder_import(path=photo_folder({"a.jpg": 1, "b.jpg": 2}), profile_name="p")
    photos_embed()
    Photo.objects.filter(source_id="a.jpg").update(embedding_model="ViT-old/openai")

    assert photos_embed().embedded == 1
    assert set(Photo.objects.values_list("embedding_model", flat=True)) == {encoder.model_id}


def test_it_creates_the_models_hnsw_index(photo_folder, encoder):
    folder_import(path=photo_folder({"a.jpg": 1}), profile_name="p")

    photos_embed()

    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s", [embedding_index_name(encoder.model_id)])
        (indexdef,) = cursor.fetchone()
    assert "USING hnsw" in indexdef and "halfvec_cosine_ops" in indexdef and "halfvec(64)" in indexdef
    assert encoder.model_id in indexdef  # partial: this model's rows only
    assert "m='16'" in indexdef and "ef_construction='128'" in indexdef  # the settings' graph shape


def test_a_photo_with_an_unreadable_thumbnail_is_reported_and_the_rest_embedded(photo_folder, encoder, media_root):
    folder_import(path=photo_folder({"a.jpg": 1, "b.jpg": 2}), profile_name="p")
    broken = Photo.objects.get(source_id="a.jpg")
    (media_root / broken.thumbnail.name).write_bytes(b"garbage")

    summary = photos_embed()

    assert summary.embedded == 1
    assert [photo_id for photo_id, _ in summary.failed] == [broken.pk]
    assert Photo.objects.get(source_id="b.jpg").embedding is not None


def test_profile_filter_embeds_only_that_profile(photo_folder, encoder):
    folder_import(path=photo_folder({"a.jpg": 1}, name="one"), profile_name="one")
    folder_import(path=photo_folder({"b.jpg": 2}, name="two"), profile_name="two")
    one = Photo.objects.get(source_id="a.jpg").profile_id

    photos_embed(profile_ids=[one])

    assert list(Photo.objects.filter(embedding__isnull=False).values_list("source_id", flat=True)) == ["a.jpg"]


def test_tags_captions_come_from_the_vocabulary_and_are_searchable_words(photo_folder, encoder):
    from search.ml.captions import TagCaptioner

    folder_import(path=photo_folder({"a.jpg": 1, "b.jpg": 2, "c.jpg": 3}), profile_name="p")
    labels = ["lighthouse", "harbour", "bicycle", "street market", "snowy mountain"]

    photos_embed(captioner=TagCaptioner(encoder, labels=labels))

    for photo in Photo.objects.all():
        parts = photo.caption.replace(" and ", ", ").split(", ")
        assert 1 <= len(parts) <= 3 and set(parts) <= set(labels)
        assert Photo.objects.filter(pk=photo.pk, search_vector=parts[0].split()[-1]).exists()  # in the tsvector


def test_the_default_captioner_tags_from_imagenet_and_scenes(photo_folder, encoder):
    from search.ml.captions import default_vocabulary

    folder_import(path=photo_folder({"a.jpg": 1}), profile_name="p")

    photos_embed()

    caption = Photo.objects.get().caption
    assert caption and caption.split(" and ")[-1] in default_vocabulary()


def test_no_captioner_leaves_captions_empty(photo_folder, encoder, settings):
    settings.PHOTOSEARCH_CAPTIONER = "none"
    folder_import(path=photo_folder({"a.jpg": 1}), profile_name="p")

    photos_embed()

    assert Photo.objects.get().caption == ""


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_runs_never_embed_the_same_photo(photo_folder, encoder):
    import threading
    import time

    from django.db import connections

    folder_import(path=photo_folder({f"{i:02}.jpg": i for i in range(24)}), profile_name="p")
    embedded_rows: list[int] = []
    lock = threading.Lock()

    class CountingEncoder:
        model_id, dimensions, device = encoder.model_id, encoder.dimensions, "cpu"
        preprocess = staticmethod(encoder.preprocess)
        encode_texts = staticmethod(encoder.encode_texts)

        def encode_pixels(self, pixels):
            time.sleep(0.05)  # keep both runs in flight at once
            with lock:
                embedded_rows.append(len(pixels))
            return encoder.encode_pixels(pixels)

    start = threading.Barrier(2)
    summaries = []

    def run():
        start.wait()
        try:
            summaries.append(photos_embed(batch_size=2, encoder=CountingEncoder()))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert sum(embedded_rows) == 24  # each photo went through the model exactly once
    assert sum(s.embedded for s in summaries) == 24
    assert min(s.embedded for s in summaries) > 0  # both really ran side by side, each on its own photos
    assert not Photo.objects.filter(embedding__isnull=True).exists()


def test_tag_label_vectors_are_computed_once_per_model_and_kept_on_disk(encoder, settings, tmp_path):
    from search.ml.captions import TagCaptioner

    settings.DATA_DIR = tmp_path
    labels = ["harbour", "lighthouse"]
    first = TagCaptioner(encoder, labels=labels)

    class NoTextTower:
        model_id, dimensions = encoder.model_id, encoder.dimensions

        def encode_texts(self, texts):
            raise AssertionError("the label vectors should have come from the cache")

    again = TagCaptioner(NoTextTower(), labels=labels)

    assert (again.label_vectors == first.label_vectors).all()
    assert len(list((tmp_path / "cache").glob("tag-vectors-*.npy"))) == 1


def test_a_big_profile_gets_its_own_hnsw_index_which_filtered_searches_use(photo_folder, encoder, settings):
    settings.PHOTOSEARCH_PROFILE_INDEX_MIN = 3
    settings.PHOTOSEARCH_EXACT_SCAN_MAX = 0  # no exact scan: the filtered search walks a graph
    folder_import(path=photo_folder({"a.jpg": 1, "b.jpg": 2, "c.jpg": 3}, name="big"), profile_name="big")
    folder_import(path=photo_folder({"d.jpg": 4}, name="small"), profile_name="small")

    photos_embed()

    big, small = (Profile.objects.get(handle=handle) for handle in ("big", "small"))
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE indexname LIKE 'photo_embedding_hnsw_%%'")
        names = {row[0] for row in cursor.fetchall()}
        cursor.execute("SET LOCAL enable_seqscan = off")  # a 4-row table: make the planner show which index fits
    assert names == {embedding_index_name(encoder.model_id), embedding_profile_index_name(encoder.model_id, big.pk)}
    vector = encoder.encode_texts(["x"])[0]
    plan = photo_search_explain(
        query="x", query_vector=vector, model_id=encoder.model_id, filters=SearchFilters(profile_ids=(big.pk,))
    )
    assert embedding_profile_index_name(encoder.model_id, big.pk) in plan
    result = photo_search(
        query="x", filters=SearchFilters(profile_ids=(big.pk,)), encoder=encoder, ranking=RankingOptions(cutoff=0)
    )
    assert sorted(hit.photo.source_id for hit in result.hits) == ["a.jpg", "b.jpg", "c.jpg"]
    assert photos_embed().embedded == 0  # nothing new: no index work either


def test_imports_and_indexing_leave_no_pending_words_for_searches_to_scan(photo_folder, encoder):
    from search.services.index_builds import text_index_flush

    def pending_pages() -> int:
        with connection.cursor() as cursor:  # merges whatever is pending, and says how much that was
            cursor.execute("SELECT gin_clean_pending_list('photo_search_vector_gin'::regclass)")
            return cursor.fetchone()[0]

    files = {f"img{i}.jpg": i for i in range(6)}
    files.update({f"img{i}.txt": f"words of photo {i} " * 40 for i in range(6)})
    folder_import(path=photo_folder(files), profile_name="p")  # queues nothing here; merges at import_finished
    assert pending_pages() == 0
    photos_embed()  # captions written: new words
    assert pending_pages() == 0

    Photo.objects.update(source_text="fresh words nobody merged yet")
    assert text_index_flush() > 0 and text_index_flush() == 0


def test_a_big_profile_gets_its_own_word_index_which_filtered_word_searches_use(photo_folder, encoder, settings):
    from search.ranking.indexes import text_profile_index_name
    from search.services.index_builds import text_index_flush

    settings.PHOTOSEARCH_PROFILE_INDEX_MIN = 3
    big_files = {
        "a.jpg": 1,
        "b.jpg": 2,
        "c.jpg": 3,
        "a.txt": "lighthouse at dusk",
        "b.txt": "harbour cranes",
        "c.txt": "lighthouse keeper",
    }
    folder_import(path=photo_folder(big_files, name="big"), profile_name="big")  # import_finished makes the index
    folder_import(path=photo_folder({"d.jpg": 4, "d.txt": "lighthouse"}, name="small"), profile_name="small")
    big, small = (Profile.objects.get(handle=handle) for handle in ("big", "small"))
    # Photos without the word in both profiles: scanning the big one's rows is no longer the cheap way to its matches.
    Photo.objects.bulk_create(
        Photo(profile=profile, source_id=f"x{i}", content_hash=f"{i:064}", source_text="harbour boats")
        for profile in (big, small)
        for i in range(1000)
    )

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE indexname LIKE 'photo\\_search\\_vector\\_gin%%'"
        )
        indexes = dict(cursor.fetchall())
        cursor.execute("ANALYZE profiles_photo")
    assert indexes.keys() == {"photo_search_vector_gin", text_profile_index_name(big.pk)}
    assert f"WHERE (profile_id = {big.pk})" in indexes[text_profile_index_name(big.pk)]

    filters = SearchFilters(profile_ids=(big.pk,))
    plan = photo_search_explain(query="lighthouse", query_vector=None, model_id=None, filters=filters)
    assert text_profile_index_name(big.pk) in plan, plan
    # Only the photos of the profile, found through its own index.
    result = photo_search(query="lighthouse", filters=filters, encoder=encoder, literal=True)
    assert sorted(hit.photo.source_id for hit in result.hits) == ["a.jpg", "c.jpg"]
    plan = photo_search_explain(
        query="lighthouse", query_vector=None, model_id=None, filters=SearchFilters(profile_ids=(small.pk,))
    )
    assert "photo_search_vector_gin_p" not in plan

    # New words of the profile wait in its index's pending list too, until the flush merges them.
    Photo.objects.filter(profile=big).update(source_text="fresh words nobody merged yet")
    with connection.cursor() as cursor:
        cursor.execute("SELECT gin_clean_pending_list(%s::regclass)", [text_profile_index_name(big.pk)])
        assert cursor.fetchone()[0] > 0
    Photo.objects.filter(profile=big).update(source_text="and again")
    assert text_index_flush() > 0 and text_index_flush() == 0


def test_a_deleted_profile_takes_its_own_indexes_with_it(
    photo_folder, encoder, settings, django_capture_on_commit_callbacks
):
    settings.PHOTOSEARCH_PROFILE_INDEX_MIN = 2
    for handle, seeds in (("gone", (1, 2)), ("kept", (3, 4))):
        files = {f"{handle}{seed}.jpg": seed for seed in seeds} | {f"{handle}{seed}.txt": "harbour" for seed in seeds}
        folder_import(path=photo_folder(files, name=handle), profile_name=handle)
    photos_embed()

    def own_indexes() -> set[str]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT indexname FROM pg_indexes WHERE tablename = 'profiles_photo' AND indexname ~ '_p[0-9]+$'"
            )
            return {row[0] for row in cursor.fetchall()}

    gone, kept = (Profile.objects.get(handle=handle) for handle in ("gone", "kept"))
    indexes_of = {
        profile.pk: {
            embedding_profile_index_name(encoder.model_id, profile.pk),
            f"photo_search_vector_gin_p{profile.pk}",
        }
        for profile in (gone, kept)
    }
    assert own_indexes() == indexes_of[gone.pk] | indexes_of[kept.pk]

    with django_capture_on_commit_callbacks(execute=True):
        gone.delete()

    assert own_indexes() == indexes_of[kept.pk]
    result = photo_search(query="harbour", filters=SearchFilters(profile_ids=(kept.pk,)), encoder=encoder)
    assert {hit.photo.profile_id for hit in result.hits} == {kept.pk}
