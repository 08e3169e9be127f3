from django.urls import path

from . import views

urlpatterns = [
    path("analytics/", views.dashboard, name="analytics-dashboard"),
    path("analytics/screen/", views.screen, name="analytics-screen"),
    path("analytics/drill/", views.drill, name="analytics-drill"),
]
