from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.urls import include, path, re_path
from django.views.static import serve


def media_serve(request: HttpRequest, path: str) -> HttpResponseBase:
    """A media file from MEDIA_ROOT as it is now (read per request, so a changed setting is followed). Who may
    see it is decided before, with every other read (``photosearch.middleware.ReadAccessMiddleware``)."""
    return serve(request, path, document_root=str(settings.MEDIA_ROOT))


urlpatterns = [
    # Any active user signs in here when anonymous reads are off (PHOTOSEARCH_API_PUBLIC_READS=false); the admin's
    # own login accepts staff only.
    path("login/", auth_views.LoginView.as_view(template_name="login.html", next_page="search"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(next_page="search"), name="logout"),
    path("admin/", admin.site.urls),
    path("api/", include("photosearch.api_urls")),
    path("", include("search.urls")),
]

if settings.SERVE_MEDIA and settings.MEDIA_URL.startswith("/"):
    urlpatterns.append(re_path(rf"^{settings.MEDIA_URL.lstrip('/')}(?P<path>.*)$", media_serve))
