from django.urls import path

from . import views

urlpatterns = [
    path("me/", views.home, name="me"),
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/logout/", views.logout_view, name="logout"),
    path("grids/", views.grid_list, name="grid-list"),
    path("grids/<int:grid_id>/", views.grid_detail, name="grid-detail"),
    path("regions/<str:code>/", views.region_detail, name="region-detail"),
]
