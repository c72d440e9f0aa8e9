"""Server-rendered pages: thin shells over the selectors."""

from __future__ import annotations

from django.shortcuts import render
from django.views.decorators.http import require_GET

from profiles.selectors import profile_ids_for_handle, profile_list_with_counts
from search.selectors import InvalidQuery, SearchFilters, photo_search

PAGE_SIZE = 48


@require_GET
def search_page(request):
    query = request.GET.get("q", "")
    profile = request.GET.get("profile", "")
    context = {"query": query, "profile": profile, "profiles": profile_list_with_counts(), "result": None}
    status = 200
    if query.strip():
        profile_ids = profile_ids_for_handle(profile) if profile else None
        if profile and not profile_ids:
            context["error"], status = f"There is no profile named “{profile}”.", 400
        else:
            try:
                context["result"] = photo_search(
                    query=query, filters=SearchFilters(profile_ids=tuple(profile_ids or ())), limit=PAGE_SIZE
                )
            except InvalidQuery as exc:
                context["error"], status = str(exc), 400
    return render(request, "search/index.html", context, status=status)
