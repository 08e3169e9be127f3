import json
import pytest
from tests.factories import make_grid, make_tree, make_user
from zongzhi.geo.services import grids_import
from zongzhi.orgs.roles import Role

pytestmark = pytest.mark.django_db(transaction=True)


def sq(i):
    x, y, d = 120.15 + i * 0.004, 30.27, 0.004
    return {"type": "Polygon", "coordinates": [[[x, y], [x + d, y], [x + d, y + d], [x, y + d], [x, y]]]}


def test_smoke(site):
    tree = make_tree()
    v = tree["A1a"]
    grids_import(
        actor=None,
        data={
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "properties": {"code": v.code + "001", "name": "一", "population": 1500},
                    "geometry": sq(0),
                },
                {
                    "type": "Feature",
                    "properties": {"code": v.code + "002", "name": "二", "population": 1500},
                    "geometry": sq(0.5),
                },
            ],
        },
    )
    user = make_user(Role.SYSTEM_ADMIN, tree["A1"], username="geoadmin")
    from zongzhi.cases import services as cs

    cs.case_report(
        actor=None,
        data=cs.ReportInput(
            channel="web",
            title="t",
            description="d",
            region_code=v.code,
            lon=120.151,
            lat=30.271,
            is_anonymous=True,
        ),
    )
    page = site.page()
    site.login(page, "geoadmin")
    page.goto(site.url + "/map/") if hasattr(site, "url") else page.goto(site.live_server.url + "/map/")
    page.wait_for_timeout(3000)
    page.click("path.leaflet-interactive >> nth=0")
    page.wait_for_timeout(300)
    site.shot(page, "popup")
    site.shot(page, "map0")
    print(page.evaluate("document.querySelector('[data-map-status]').textContent"))
    print(page.evaluate("fetch('/api/v1/map/cases?crs=wgs84').then(r => r.status + ' ' + r.statusText).catch(e => String(e))"))
    print(site.problems.__dict__)
    n = page.locator("path.leaflet-interactive").count()
    page.check("#zz-layer-heat")
    page.wait_for_timeout(500)
    site.shot(page, "map")
    page.goto(page.url.replace("/map/", f"/map/coverage/?region={tree['A1'].code}"))
    page.wait_for_selector("path.leaflet-interactive", timeout=10000)
    page.wait_for_timeout(1000)
    site.shot(page, "coverage")
    from zongzhi.orgs.models import Grid

    g = Grid.objects.get(code=v.code + "001")
    page.goto(page.url.split("/map/")[0] + f"/grids/{g.pk}/boundary/")
    page.wait_for_selector(".leaflet-draw", timeout=10000)
    site.shot(page, "boundary")
    page.click("[data-boundary-save]")
    page.wait_for_load_state()
    assert "已保存" in page.content()
    site.assert_no_problems()
    assert n >= 2
