from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "zongzhi.notifications"
    label = "notifications"
