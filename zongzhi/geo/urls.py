from django.urls import path

from . import views

urlpatterns = [
    path("map/", views.map_page, name="map"),
    path("map/coverage/", views.coverage_page, name="map-coverage"),
    path("grids/<int:grid_id>/boundary/", views.grid_boundary, name="grid-boundary"),
]
