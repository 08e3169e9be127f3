from django.apps import AppConfig


class DisputesConfig(AppConfig):
    name = "zongzhi.disputes"
    label = "disputes"
