from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path
from django.utils.translation import gettext_lazy as _

from zongzhi.api.main import api

admin.site.site_header = _("综治中心信息平台 · 配置管理")
admin.site.site_title = _("综治中心信息平台")
admin.site.index_title = _("配置管理")

urlpatterns: list[URLPattern | URLResolver] = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("zongzhi.cases.urls")),
    path("", include("zongzhi.core.urls")),
    path("", include("zongzhi.orgs.urls")),
    path("", include("zongzhi.geo.urls")),
    path("", include("zongzhi.disputes.urls")),
    path("", include("zongzhi.analytics.alert_urls")),
    path("", include("zongzhi.analytics.urls")),
    path("", include("zongzhi.assessment.urls")),
    path("", include("zongzhi.people.urls")),
    path("", include("zongzhi.people.urls_io")),
]
if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
