"""URLs of the assessment (included from ``config/urls.py``)."""

from django.urls import path

from . import views

urlpatterns = [
    path("assessment/", views.scores, name="assessment-scores"),
    path("assessment/plans/", views.plan_list, name="assessment-plans"),
    path("assessment/plans/<int:plan_id>/", views.plan_detail, name="assessment-plan"),
    path(
        "assessment/plans/<int:plan_id>/drill/<int:indicator_id>/",
        views.drill,
        name="assessment-drill",
    ),
    path("assessment/bulletins/", views.bulletin_list, name="assessment-bulletins"),
    path("assessment/bulletins/<int:bulletin_id>/", views.bulletin_detail, name="assessment-bulletin"),
    path(
        "assessment/bulletins/<int:bulletin_id>/publish/",
        views.bulletin_publish,
        name="assessment-bulletin-publish",
    ),
    path(
        "assessment/bulletins/<int:bulletin_id>/retry/",
        views.bulletin_retry,
        name="assessment-bulletin-retry",
    ),
    path(
        "assessment/bulletins/<int:bulletin_id>/export.xlsx",
        views.bulletin_export,
        {"kind": "xlsx"},
        name="assessment-bulletin-export",
    ),
    path(
        "assessment/bulletins/<int:bulletin_id>/export.pdf",
        views.bulletin_export,
        {"kind": "pdf"},
        name="assessment-bulletin-pdf",
    ),
]
