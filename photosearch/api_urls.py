"""Every URL under ``api/``: the apps' v1 endpoints, the OpenAPI schema, Swagger UI, and a JSON 404 for the rest."""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from photosearch.api import ApiNotFound

v1_patterns = [path("", include("search.api_urls")), path("", include("profiles.api_urls"))]

urlpatterns = [
    path("v1/", include(v1_patterns)),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    # Last: any other /api/…/ path answers a JSON 404 (paths without the slash still get APPEND_SLASH's redirect).
    re_path(r"^[\s\S]*/$", ApiNotFound.as_view()),  # not ".": a %0A in the path is still under /api/
]
