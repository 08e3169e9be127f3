from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "zongzhi.api"
    label = "api"
