from django.urls import path

from . import subject_views, views

urlpatterns = [
    path("", views.home, name="home"),
    path("workbench/", views.workbench, name="workbench"),
    path("cases/new/", views.case_new, name="case-new"),
    path("cases/export/", views.export_cases, name="case-export"),
    path("cases/suggest/categories/", views.suggest_categories, name="suggest-categories"),
    path("cases/suggest/regions/", views.suggest_regions, name="suggest-regions"),
    path("cases/similar/", views.similar_hints, name="similar-hints"),
    path("cases/<int:case_id>/", views.case_detail, name="case-detail"),
    path("cases/<int:case_id>/actions/<str:action>/", views.case_action, name="case-action"),
    path(
        "cases/<int:case_id>/attachments/<int:attachment_id>/",
        views.attachment_download,
        name="case-attachment",
    ),
    path("supervisions/<int:supervision_id>/reply/", views.supervision_reply, name="supervision-reply"),
    path("cases/<int:case_id>/subjects/", subject_views.case_subjects, name="case-subjects"),
    path(
        "cases/<int:case_id>/subjects/<int:link_id>/unlink/",
        subject_views.case_subject_unlink,
        name="case-subject-unlink",
    ),
    path("cases/subjects/<str:kind>/<int:subject_id>/", subject_views.subject_cases, name="subject-cases"),
    path("desk/", views.desk, name="desk"),
    path("m/", views.mobile_home, name="mobile-home"),
    path("m/report/", views.mobile_report, name="mobile-report"),
    path("public/report/", views.public_report, name="public-report"),
    path("public/done/", views.public_done, name="public-done"),
    path("public/track/", views.public_track, name="public-track"),
]
