from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "zongzhi.cases"
    label = "cases"

    def ready(self) -> None:
        from zongzhi.geo.assign import register_target

        register_target("cases.case", lon_field="lon", lat_field="lat", grid_field="grid")
