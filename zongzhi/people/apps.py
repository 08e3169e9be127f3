from django.apps import AppConfig


class PeopleConfig(AppConfig):
    name = "zongzhi.people"
    label = "people"

    def ready(self) -> None:
        from zongzhi.geo.assign import register_target

        # located base data is re-assigned to grids when boundaries change
        for label in ("people.house", "people.place", "people.organization"):
            register_target(label, lon_field="lon", lat_field="lat", grid_field="grid")
