"""Every API URL, included at ``api/`` by the project's URLconf: v1 endpoints, the OpenAPI schema and Swagger UI."""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from search import apis

v1_patterns = [
    path("search/", apis.SearchApi.as_view(), name="api-search"),
    path("search/by-image/", apis.SearchByImageApi.as_view(), name="api-search-by-image"),
    path("photos/<int:photo_id>/", apis.PhotoDetailApi.as_view(), name="api-photo"),
    path("photos/<int:photo_id>/similar/", apis.PhotoSimilarApi.as_view(), name="api-photo-similar"),
    path("", include("profiles.api_urls")),
]

urlpatterns = [
    path("v1/", include(v1_patterns)),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    # Last: any other /api/…/ path answers a JSON 404 (paths without the slash still get APPEND_SLASH's redirect).
    re_path(r"^[\s\S]*/$", apis.ApiNotFound.as_view()),  # not ".": a %0A in the path is still under /api/
]
