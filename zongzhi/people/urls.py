from django.urls import path

from . import views

urlpatterns = [
    path("people/residents/", views.resident_list, name="resident-list"),
    path("people/residents/new/", views.resident_new, name="resident-new"),
    path("people/residents/<int:resident_id>/", views.resident_detail, name="resident-detail"),
    path("people/residents/<int:resident_id>/edit/", views.resident_edit, name="resident-edit"),
    path("people/residents/<int:resident_id>/enrol/", views.membership_new, name="membership-new"),
    path("people/houses/", views.house_list, name="house-list"),
    path("people/houses/new/", views.record_form, {"kind": "house"}, name="house-new"),
    path("people/houses/<int:house_id>/", views.record_detail, {"kind": "house"}, name="house-detail"),
    path("people/houses/<int:house_id>/edit/", views.record_form, {"kind": "house"}, name="house-edit"),
    path("people/places/", views.place_list, name="place-list"),
    path("people/places/new/", views.record_form, {"kind": "place"}, name="place-new"),
    path("people/places/<int:place_id>/", views.record_detail, {"kind": "place"}, name="place-detail"),
    path("people/places/<int:place_id>/edit/", views.record_form, {"kind": "place"}, name="place-edit"),
    path("people/organizations/", views.organization_list, name="organization-list"),
    path("people/organizations/new/", views.record_form, {"kind": "organization"}, name="organization-new"),
    path(
        "people/organizations/<int:organization_id>/",
        views.record_detail,
        {"kind": "organization"},
        name="organization-detail",
    ),
    path(
        "people/organizations/<int:organization_id>/edit/",
        views.record_form,
        {"kind": "organization"},
        name="organization-edit",
    ),
    path("people/unmask/<str:kind>/<int:record_id>/", views.record_unmask, name="record-unmask"),
    path("people/special/", views.membership_list, name="membership-list"),
    path("people/special/<int:membership_id>/", views.membership_detail, name="membership-detail"),
    path("people/special/<int:membership_id>/edit/", views.membership_edit, name="membership-edit"),
    path("people/special/<int:membership_id>/close/", views.membership_close, name="membership-close"),
    path("m/visits/", views.visits_due, name="visits-due"),
    path("m/visits/<str:kind>/<int:record_id>/", views.visit_new, name="visit-new"),
    path("people/visits/<int:visit_id>/photos/<int:photo_id>/", views.visit_photo, name="visit-photo"),
]
