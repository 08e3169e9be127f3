from django.apps import AppConfig


class PeopleConfig(AppConfig):
    name = "zongzhi.people"
    label = "people"
