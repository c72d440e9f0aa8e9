"""Page routes (the JSON API is in api_urls.py)."""

from django.urls import path

from search import views

urlpatterns = [
    path("", views.search_page, name="search"),
    path("search/image/", views.search_by_image_page, name="search-by-image"),
    path("photos/<int:photo_id>/", views.photo_page, name="photo"),
    path("profiles/", views.profiles_page, name="profiles"),
]
