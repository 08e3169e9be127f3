"""URLs of the early warnings (included from ``config/urls.py``)."""

from django.urls import path

from . import alert_views

urlpatterns = [
    path("alerts/", alert_views.alert_list, name="alert-list"),
    path("alerts/rules/", alert_views.rule_list, name="alert-rules"),
    path("alerts/rules/<int:rule_id>/", alert_views.rule_edit, name="alert-rule-edit"),
    path("alerts/<int:alert_id>/", alert_views.alert_detail, name="alert-detail"),
    path("alerts/<int:alert_id>/dispose/", alert_views.alert_dispose, name="alert-dispose"),
]
