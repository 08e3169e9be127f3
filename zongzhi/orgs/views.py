from __future__ import annotations

from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from zongzhi.core.audit import client_ip

from . import selectors, services
from .models import Grid, Region
from .scoping import get_visible_or_404, grants_of


class LoginView(auth_views.LoginView):
    template_name = "orgs/login.html"
    redirect_authenticated_user = True


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        services.user_logged_out(user=request.user, ip=client_ip(request))  # type: ignore[arg-type]
    logout(request)
    return redirect("login")


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "orgs/home.html", {"grants": grants_of(request.user)})


@login_required
def grid_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.grids_for(request.user, region_code=request.GET.get("region")), 50).get_page(
        request.GET.get("page")
    )
    return render(request, "orgs/grid_list.html", {"page": page})


@login_required
def grid_detail(request: HttpRequest, grid_id: int) -> HttpResponse:
    grid = get_visible_or_404(request.user, Grid.objects.select_related("village"), pk=grid_id)
    members = grid.memberships.select_related("user").order_by("role", "user__username")
    return render(request, "orgs/grid_detail.html", {"grid": grid, "members": members})


@login_required
def region_detail(request: HttpRequest, code: str) -> HttpResponse:
    region = get_visible_or_404(request.user, Region.objects.select_related("parent"), code=code)
    children = selectors.regions_for(request.user, parent_code=region.code)[:500]
    return render(request, "orgs/region_detail.html", {"region": region, "children": children})
