"""API v1 URLs of search, photos and people (included by ``photosearch/api_urls.py`` under ``api/v1/``)."""

from django.urls import path

from photosearch.api import method_dispatch
from search import apis, people_apis

urlpatterns = [
    path("search/", apis.SearchApi.as_view(), name="api-search"),
    path("search/by-image/", apis.SearchByImageApi.as_view(), name="api-search-by-image"),
    path("photos/<int:photo_id>/", apis.PhotoDetailApi.as_view(), name="api-photo"),
    path("photos/<int:photo_id>/similar/", apis.PhotoSimilarApi.as_view(), name="api-photo-similar"),
    path("people/", people_apis.PersonListApi.as_view(), name="api-people"),
    path(
        "people/<int:person_id>/",
        method_dispatch(GET=people_apis.PersonDetailApi, PATCH=people_apis.PersonUpdateApi),
        name="api-person",
    ),
    path("people/<int:person_id>/photos/", people_apis.PersonPhotosApi.as_view(), name="api-person-photos"),
    path("people/<int:person_id>/merge/", people_apis.PersonMergeApi.as_view(), name="api-person-merge"),
]
