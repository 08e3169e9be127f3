from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "zongzhi.core"
    label = "core"
