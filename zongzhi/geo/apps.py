from django.apps import AppConfig


class GeoConfig(AppConfig):
    name = "zongzhi.geo"
    label = "geo"
