from django.apps import AppConfig
from django.db.backends.signals import connection_created


class SearchConfig(AppConfig):
    name = "search"

    def ready(self):
        from search.ranking.session import search_session_prepare

        def prepare(sender, connection, **kwargs):
            search_session_prepare(connection=connection)

        connection_created.connect(prepare, dispatch_uid="photosearch-search-session", weak=False)
