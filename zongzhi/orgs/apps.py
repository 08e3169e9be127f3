from django.apps import AppConfig


class OrgsConfig(AppConfig):
    name = "zongzhi.orgs"
    label = "orgs"
