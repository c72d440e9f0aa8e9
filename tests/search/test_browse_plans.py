"""The reads that would otherwise scan the whole library have an index of their own (migration profiles/0009): the
home page's recent photos and the other copies of a page's images (``also_in``). A table of a few rows is read
whole whatever the indexes, so each plan is asked with sequential scans (and, for the page in date order, sorts)
priced out: the question is whether an index *can* answer the statement's shape, which a change of the ORDER BY or
of a condition would break."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from profiles.services.imports import folder_import
from search.ranking import duplicates, statement


def _plan(sql: str, params, *, sorts: bool = True) -> str:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        if not sorts:
            cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.django_db
def test_the_home_pages_recent_photos_are_read_from_their_index():
    sql = statement.browse_sql(filters=[], sort="newest")
    plan = _plan(sql, {"limit": 25, "offset": 0, "total_bound": statement.TOTAL_BOUND + 1}, sorts=False)
    assert "photo_recent" in plan, plan
    assert "Sort" not in plan.split("InitPlan")[0], plan


@pytest.fixture
def library_of_3000(photo_folder) -> list[str]:
    """One imported photo and 3,000 copies of its row under other hashes, analysed (an empty table's statistics make
    every index look alike); returns 24 of the hashes, a page's worth."""
    folder_import(path=photo_folder({"a.jpg": 1}), profile_name="big")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'profiles_photo' "
            "AND is_generated = 'NEVER' AND column_name <> 'id'"
        )
        columns = [row[0] for row in cursor.fetchall()]
        values = {"source_id": "p.source_id || g", "content_hash": "md5(g::text) || md5((g + 1)::text)"}
        cursor.execute(
            f"INSERT INTO profiles_photo ({', '.join(columns)}) "
            f"SELECT {', '.join(values.get(c, 'p.' + c) for c in columns)} "
            "FROM profiles_photo p, generate_series(1, 3000) g"
        )
        cursor.execute("ANALYZE profiles_photo")
        cursor.execute("SELECT content_hash FROM profiles_photo ORDER BY id LIMIT 24 OFFSET 100")
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.django_db
def test_the_other_copies_of_a_pages_images_are_found_through_an_index_on_the_hash(library_of_3000):
    plan = _plan(duplicates._OTHER_COPIES, [library_of_3000])
    # The hashes are the index condition (of the originals' hash index; with one profile PostgreSQL 18 may as well
    # skip-scan the (profile, content_hash) one), never a filter over a scan of the library.
    assert "Index Cond: ((content_hash)::text = ANY" in plan, plan
