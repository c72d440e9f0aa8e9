from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.static import serve


def media_serve(request, path: str):
    """A media file from MEDIA_ROOT as it is now (read per request, so a changed setting is followed). Who may
    see it is decided before, with every other read (``photosearch.middleware.ReadAccessMiddleware``)."""
    return serve(request, path, document_root=settings.MEDIA_ROOT)


urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("photosearch.api_urls")),
    path("", include("search.urls")),
]

if settings.SERVE_MEDIA and settings.MEDIA_URL.startswith("/"):
    urlpatterns.append(
        re_path(rf"^{settings.MEDIA_URL.lstrip('/')}(?P<path>.*)$", media_serve)
    )
