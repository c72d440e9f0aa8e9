from django.apps import AppConfig
from django.db.backends.signals import connection_created


class SearchConfig(AppConfig):
    name = "search"

    def ready(self):
        from search.ranking.session import search_session_prepare

        def prepare(sender, connection, **kwargs):
            search_session_prepare(connection=connection)

        connection_created.connect(prepare, dispatch_uid="photosearch-search-session", weak=False)

        from profiles.signals import import_finished
        from search.services.embedding import photos_embed_after_import
        from search.services.index_builds import text_indexes_after_import

        import_finished.connect(photos_embed_after_import, dispatch_uid="photosearch-embed-after-import", weak=False)
        import_finished.connect(text_indexes_after_import, dispatch_uid="photosearch-text-index-flush", weak=False)

        from django.db.models.signals import post_delete

        from profiles.models import Profile
        from search.models import Face
        from search.services.faces import face_crop_release_after_delete
        from search.services.index_builds import profile_indexes_drop_after_delete

        post_delete.connect(
            face_crop_release_after_delete, sender=Face, dispatch_uid="photosearch-face-crop-release", weak=False
        )
        post_delete.connect(
            profile_indexes_drop_after_delete,
            sender=Profile,
            dispatch_uid="photosearch-profile-indexes-drop",
            weak=False,
        )

        from search.query.understanding import vocabulary_forget

        def forget_vocabulary(sender, **kwargs):
            vocabulary_forget()  # new places or profiles: the query parser must know them at once

        import_finished.connect(forget_vocabulary, dispatch_uid="photosearch-forget-vocabulary", weak=False)
