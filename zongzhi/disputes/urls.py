from django.urls import path

from . import views

urlpatterns = [
    path("disputes/", views.dispute_list, name="dispute-list"),
    path("disputes/new/", views.dispute_new, name="dispute-new"),
    path("disputes/stats/", views.stats, name="dispute-stats"),
    path("disputes/stats/export/", views.stats_export, name="dispute-stats-export"),
    path("disputes/for-case/<int:case_id>/", views.dispute_for_case, name="dispute-for-case"),
    path("disputes/<int:dispute_id>/", views.dispute_detail, name="dispute-detail"),
    path("disputes/<int:dispute_id>/actions/<str:action>/", views.dispute_action, name="dispute-action"),
    path("disputes/<int:dispute_id>/parties/add/", views.party_add, name="dispute-party-add"),
    path(
        "disputes/<int:dispute_id>/parties/<int:party_id>/reveal/",
        views.party_reveal,
        name="dispute-party-reveal",
    ),
    path(
        "disputes/<int:dispute_id>/agreements/<int:agreement_id>/",
        views.agreement_page,
        name="dispute-agreement",
    ),
    path(
        "disputes/<int:dispute_id>/agreements/<int:agreement_id>/pdf/",
        views.agreement_pdf,
        name="dispute-agreement-pdf",
    ),
    path("mediators/", views.mediator_list, name="mediator-list"),
    path("mediators/new/", views.mediator_new, name="mediator-new"),
    path("mediators/<int:mediator_id>/", views.mediator_detail, name="mediator-detail"),
    path("screenings/", views.screening_list, name="screening-list"),
    path("screenings/<int:campaign_id>/", views.screening_detail, name="screening-detail"),
    path("screenings/<int:campaign_id>/close/", views.screening_close, name="screening-close"),
    path("m/screenings/", views.screening_mobile, name="screening-mobile"),
    path("m/screenings/<int:campaign_id>/grids/<int:grid_id>/", views.screening_grid, name="screening-grid"),
]
