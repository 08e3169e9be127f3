from django.urls import path

from . import views_io

urlpatterns = [
    path("people/import/", views_io.import_page, name="people-import"),
    path("people/import/template/", views_io.import_template, name="people-import-template"),
    path("people/import/jobs/<int:job_id>/", views_io.import_job, name="people-import-job"),
    path("people/import/jobs/<int:job_id>/errors/", views_io.import_errors, name="people-import-errors"),
    path("people/export/", views_io.export_page, name="people-export"),
]
