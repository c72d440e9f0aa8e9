"""API v1 URLs of profiles and import jobs (included by ``photosearch/api_urls.py`` under ``api/v1/``)."""

from django.urls import path

from photosearch.api import method_dispatch
from profiles import apis

urlpatterns = [
    path("profiles/", method_dispatch(GET=apis.ProfileListApi, POST=apis.ProfileCreateApi), name="api-profiles"),
    path("profiles/<int:profile_id>/", apis.ProfileDetailApi.as_view(), name="api-profile"),
    path("profiles/<int:profile_id>/imports/", apis.ProfileImportApi.as_view(), name="api-profile-imports"),
    path("jobs/<int:job_id>/", apis.JobDetailApi.as_view(), name="api-job"),
    path("places/", apis.PlaceListApi.as_view(), name="api-places"),
]
