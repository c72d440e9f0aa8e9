"""API v1 URLs of search and photos (included by ``photosearch/api_urls.py`` under ``api/v1/``)."""

from django.urls import path

from search import apis

urlpatterns = [
    path("search/", apis.SearchApi.as_view(), name="api-search"),
    path("search/by-image/", apis.SearchByImageApi.as_view(), name="api-search-by-image"),
    path("photos/<int:photo_id>/", apis.PhotoDetailApi.as_view(), name="api-photo"),
    path("photos/<int:photo_id>/similar/", apis.PhotoSimilarApi.as_view(), name="api-photo-similar"),
]
