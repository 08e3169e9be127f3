from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DisputesConfig(AppConfig):
    name = "zongzhi.disputes"
    label = "disputes"
    verbose_name = _("矛盾纠纷")

    def ready(self) -> None:
        # the handlers of the dispute actions of the one workflow table (cases/states.py)
        from .workflow import register

        register()
