"""Page routes (the JSON API is in api_urls.py)."""

from django.urls import path

from search import people_views, views

urlpatterns = [
    path("", views.search_page, name="search"),
    path("search/image/", views.search_by_image_page, name="search-by-image"),
    path("photos/<int:photo_id>/", views.photo_page, name="photo"),
    path("profiles/", views.profiles_page, name="profiles"),
    path("people/", people_views.people_page, name="people"),
    path("people/<int:person_id>/", people_views.person_page, name="person"),
    path("people/<int:person_id>/rename/", people_views.person_rename_page, name="person-rename"),
    path("people/<int:person_id>/merge/", people_views.person_merge_page, name="person-merge"),
    path("people/<int:person_id>/hide/", people_views.person_hide_page, name="person-hide"),
    path("people/faces/<int:face_id>/not-this-person/", people_views.face_not_person_page, name="face-not-person"),
]
