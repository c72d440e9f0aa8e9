from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.urls import include, path, re_path
from django.views.static import serve


def media_serve(request: HttpRequest, path: str) -> HttpResponseBase:
    """A media file from MEDIA_ROOT, read per request; access is checked by ``ReadAccessMiddleware``."""
    return serve(request, path, document_root=str(settings.MEDIA_ROOT))


urlpatterns = [
    # For any active user; the admin's own login takes staff only.
    path("login/", auth_views.LoginView.as_view(template_name="login.html", next_page="search"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(next_page="search"), name="logout"),
    path("admin/", admin.site.urls),
    path("api/", include("photosearch.api_urls")),
    path("", include("search.urls")),
]

if settings.SERVE_MEDIA and settings.MEDIA_URL.startswith("/"):
    urlpatterns.append(re_path(rf"^{settings.MEDIA_URL.lstrip('/')}(?P<path>.*)$", media_serve))
