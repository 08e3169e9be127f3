from django.apps import AppConfig


class AssessmentConfig(AppConfig):
    name = "zongzhi.assessment"
    label = "assessment"
