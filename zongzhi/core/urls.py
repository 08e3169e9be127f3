from django.urls import path

from . import views

urlpatterns = [
    path("exports/<int:job_id>/", views.export_job, name="export-job"),
    path("exports/<int:job_id>/download/", views.export_download, name="export-download"),
]
