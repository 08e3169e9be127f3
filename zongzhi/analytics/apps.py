from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "zongzhi.analytics"
    label = "analytics"
