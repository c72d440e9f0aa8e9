"""Per-connection HNSW settings (search.ranking.session)."""

import pytest
from django.db import connection

from search.ranking.session import ef_search


@pytest.mark.django_db(transaction=True)  # closes the connection: no test transaction around it
def test_every_connection_carries_the_hnsw_search_settings(settings):
    """Set once per connection (no SET LOCAL round trips per search); a reconnect gets them again."""
    for _ in range(2):
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_setting('hnsw.ef_search'), current_setting('hnsw.iterative_scan')")
            assert cursor.fetchone() == (str(max(40, settings.PHOTOSEARCH_VECTOR_CANDIDATES)), "relaxed_order")
        connection.close()


@pytest.mark.django_db(transaction=True)
def test_a_bigger_ef_search_setting_applies_to_new_connections(settings):
    settings.PHOTOSEARCH_HNSW_EF_SEARCH = 400
    connection.close()
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('hnsw.ef_search')")
        assert cursor.fetchone() == ("400",)
    connection.close()  # the next test's connection gets the default again


def test_ef_search_covers_the_depth_asked_for_within_bounds(settings):
    settings.PHOTOSEARCH_HNSW_EF_SEARCH = 0

    assert (ef_search(10), ef_search(300), ef_search(5000)) == (40, 300, 1000)
