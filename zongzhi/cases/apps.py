from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "zongzhi.cases"
    label = "cases"
