from django.urls import path

from search import apis

urlpatterns = [
    path("search/", apis.SearchApi.as_view(), name="api-search"),
    path("photos/<int:photo_id>/similar/", apis.PhotoSimilarApi.as_view(), name="api-photo-similar"),
]
