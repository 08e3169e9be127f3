"""The division import: first load, idempotence, rename, re-code, move, bad rows, root filter, centers."""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from tests.factories import make_grid, make_user
from zongzhi.core.models import AuditLog
from zongzhi.orgs.models import Center, CenterKind, Grid, Region, RegionLevel, RoleGrant
from zongzhi.orgs.region_import import UnknownRootError, import_division_tree
from zongzhi.orgs.roles import Role

pytestmark = pytest.mark.django_db

HEADERS = {
    "provinces": ["code", "name"],
    "cities": ["code", "name", "provinceCode"],
    "areas": ["code", "name", "cityCode", "provinceCode"],
    "streets": ["code", "name", "areaCode", "provinceCode", "cityCode"],
    "villages": ["code", "name", "streetCode", "provinceCode", "cityCode", "areaCode"],
}


def _base() -> dict[str, list[list[str]]]:
    """Province 33 · cities 3301 甲市, 3302 乙市 · 3 counties · 3 townships · 4 villages (13 regions)."""
    return {
        "provinces": [["33", "测试省"]],
        "cities": [["3301", "甲市", "33"], ["3302", "乙市", "33"]],
        "areas": [
            ["330102", "甲一区", "3301", "33"],
            ["330103", "甲二区", "3301", "33"],
            ["330201", "乙一区", "3302", "33"],
        ],
        "streets": [
            ["330102001", "甲一街道", "330102", "33", "3301"],
            ["330103001", "甲二街道", "330103", "33", "3301"],
            ["330201001", "乙一街道", "330201", "33", "3302"],
        ],
        "villages": [
            ["330102001001", "甲一社区", "330102001", "33", "3301", "330102"],
            ["330102001002", "甲一村", "330102001", "33", "3301", "330102"],
            ["330103001001", "甲二社区", "330103001", "33", "3301", "330103"],
            ["330201001001", "乙一村", "330201001", "33", "3302", "330201"],
        ],
    }


def write_data(directory: Path, data: dict[str, list[list[str]]]) -> Path:
    """Write the five gz CSV files in the real files' format (header line, quoted names)."""
    directory.mkdir(parents=True, exist_ok=True)
    for stem, header in HEADERS.items():
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(data.get(stem, []))
        with gzip.open(directory / f"{stem}.csv.gz", "wt", encoding="utf-8") as fh:
            fh.write(buffer.getvalue())
    return directory


def run(directory: Path, root: str | None = None, **kwargs):  # type: ignore[no-untyped-def]
    return import_division_tree(root=root, data_dir=directory, **kwargs)


def region(code: str) -> Region:
    return Region.objects.get(code=code.ljust(12, "0"))


def test_first_load_counts_paths_and_centers(tmp_path: Path) -> None:
    report = run(write_data(tmp_path, _base()))

    assert (report.added, report.updated, report.unchanged) == (13, 0, 0)
    assert report.bad_rows == []
    assert {level: c.added for level, c in report.levels.items()} == {
        RegionLevel.PROVINCE: 1,
        RegionLevel.CITY: 2,
        RegionLevel.COUNTY: 3,
        RegionLevel.TOWNSHIP: 3,
        RegionLevel.VILLAGE: 4,
    }
    village = region("330102001001")
    assert village.level == RegionLevel.VILLAGE
    assert village.parent == region("330102001")
    assert village.path == "330000000000/330100000000/330102000000/330102001000/330102001001/"
    assert region("33").parent is None and region("33").path == "330000000000/"
    for r in Region.objects.all():
        assert r.path == (r.parent.path if r.parent else "") + r.code + "/"
        assert r.updated_at is not None

    assert report.centers_created == 13 == Center.objects.count()
    station = Center.objects.get(region=village)
    assert (station.kind, station.name, station.region_path) == (
        CenterKind.WORK_STATION,
        "甲一社区综治工作站",
        village.path,
    )
    center = Center.objects.get(region=region("3301"))
    assert (center.kind, center.name) == (CenterKind.CENTER, "甲市综治中心")
    audit = AuditLog.objects.filter(action="region.import").get()
    assert audit.data["added"] == 13


def test_rerun_changes_nothing(tmp_path: Path) -> None:
    directory = write_data(tmp_path, _base())
    run(directory)
    before = list(
        Region.objects.order_by("id").values_list("id", "code", "name", "path", "parent_id", "updated_at")
    )

    report = run(directory)

    assert (report.added, report.updated, report.unchanged) == (0, 0, 13)
    assert (report.moved, report.recoded, report.renamed, report.centers_created) == (0, 0, 0, 0)
    after = list(
        Region.objects.order_by("id").values_list("id", "code", "name", "path", "parent_id", "updated_at")
    )
    assert after == before
    assert Center.objects.count() == 13


def test_dry_run_writes_nothing(tmp_path: Path) -> None:
    report = run(write_data(tmp_path, _base()), dry_run=True)

    assert report.added == 13
    assert Region.objects.count() == 0
    assert Center.objects.count() == 0


def test_rename_updates_in_place_and_follows_default_center_name(tmp_path: Path) -> None:
    data = _base()
    run(write_data(tmp_path / "v1", data))
    county = region("330102")
    Center.objects.filter(region=region("330103")).update(name="自定义中心")
    data["areas"][0][1] = "甲一新区"
    data["areas"][1][1] = "甲二新区"

    report = run(write_data(tmp_path / "v2", data))

    assert (report.added, report.updated, report.renamed, report.unchanged) == (0, 2, 2, 11)
    county.refresh_from_db()
    assert county.name == "甲一新区" and county.code == "330102000000"
    assert Center.objects.get(region=county).name == "甲一新区综治中心"
    assert Center.objects.get(region=region("330103")).name == "自定义中心"  # edited by hand: kept


def test_recode_keeps_id_and_rewrites_paths(tmp_path: Path) -> None:
    data = _base()
    run(write_data(tmp_path / "v1", data))
    township = region("330102001")
    village = region("330102001001")
    grid = make_grid(village)
    data["streets"][0][0] = "330102009"
    data["villages"][0][:3] = ["330102009001", "甲一社区", "330102009"]
    data["villages"][1][:3] = ["330102009002", "甲一村", "330102009"]

    report = run(write_data(tmp_path / "v2", data))

    assert (report.added, report.recoded, report.moved, report.absent) == (0, 3, 0, 0)
    assert report.updated == 3
    township.refresh_from_db()
    village.refresh_from_db()
    assert township.code == "330102009000"
    assert township.path == "330000000000/330100000000/330102000000/330102009000/"
    assert village.code == "330102009001" and village.parent_id == township.id
    assert village.path == township.path + "330102009001/"
    grid.refresh_from_db()
    assert grid.region_path == village.path
    assert Center.objects.get(region=village).region_path == village.path
    assert not Region.objects.filter(code="330102001000").exists()
    assert run(tmp_path / "v2").updated == 0


def test_move_to_another_parent_rewrites_subtree_and_scoped_rows(tmp_path: Path) -> None:
    data = _base()
    run(write_data(tmp_path / "v1", data))
    township = region("330103001")
    village = region("330103001001")
    grid = make_grid(village)
    user = make_user(Role.CENTER_OPERATOR, township)
    # 甲二街道 moves from 甲二区 (330103) to 甲一区 (330102) and gets a code there.
    data["streets"][1] = ["330102002", "甲二街道", "330102", "33", "3301"]
    data["villages"][2] = ["330102002001", "甲二社区", "330102002", "33", "3301", "330102"]

    report = run(write_data(tmp_path / "v2", data))

    assert (report.added, report.moved, report.recoded) == (0, 1, 2)
    township.refresh_from_db()
    village.refresh_from_db()
    new_parent = region("330102")
    assert township.parent_id == new_parent.id
    assert township.path == new_parent.path + "330102002000/"
    assert village.parent_id == township.id and village.path == township.path + "330102002001/"
    grid.refresh_from_db()
    assert grid.region_path == village.path
    assert RoleGrant.objects.get(user=user).region_path == township.path
    assert Center.objects.get(region=township).region_path == township.path
    assert not Region.objects.filter(
        path__startswith="330000000000/330100000000/330103000000/330103"
    ).exists()
    assert report.repathed == 2
    again = run(tmp_path / "v2")
    assert (again.added, again.updated, again.moved) == (0, 0, 0)


def test_code_kept_but_parent_changed_is_a_move(tmp_path: Path) -> None:
    data = _base()
    run(write_data(tmp_path / "v1", data))
    township = region("330102001")
    # An earlier hand-made tree put the township under the wrong county; the import corrects it.
    Region.objects.filter(pk=township.pk).update(
        parent=region("330103"), path=region("330103").path + township.code + "/"
    )
    report = run(tmp_path / "v1")
    township.refresh_from_db()
    assert report.moved == 1
    assert township.parent == region("330102")
    assert township.path == region("330102").path + "330102001000/"


def test_bad_rows_reported_with_line_and_reason_good_rows_kept(tmp_path: Path) -> None:
    data = _base()
    data["cities"].append(["33A1", "坏市", "33"])  # line 4: non-digit
    data["areas"] += [
        ["33011", "短码区", "3301", "33"],  # line 5: wrong length
        ["330104", "", "3301", "33"],  # line 6: empty name
        ["339901", "无上级区", "3399", "33"],  # line 7: parent not found
        ["330301", "错挂区", "3302", "33"],  # line 8: does not extend its parent's code
        ["330102", "重复区", "3301", "33"],  # line 9: duplicate
    ]
    data["streets"].append(["339901001", "孤儿街道", "339901", "33", "3399"])  # line 5: parent was bad

    report = run(write_data(tmp_path, data))

    found = {(b.file, b.line): b.reason for b in report.bad_rows}
    assert set(found) == {
        ("cities.csv.gz", 4),
        ("areas.csv.gz", 5),
        ("areas.csv.gz", 6),
        ("areas.csv.gz", 7),
        ("areas.csv.gz", 8),
        ("areas.csv.gz", 9),
        ("streets.csv.gz", 5),
    }
    assert "非数字" in found[("cities.csv.gz", 4)]
    assert "6 位" in found[("areas.csv.gz", 5)]
    assert "名称为空" in found[("areas.csv.gz", 6)]
    assert "3399" in found[("areas.csv.gz", 7)] and "不存在" in found[("areas.csv.gz", 7)]
    assert "不以上级代码" in found[("areas.csv.gz", 8)]
    assert "重复" in found[("areas.csv.gz", 9)]
    assert "339901" in found[("streets.csv.gz", 5)]
    assert report.added == 13 == Region.objects.count()
    assert report.levels[RegionLevel.COUNTY].bad == 5


def test_root_filter_loads_ancestors_and_subtree_only(tmp_path: Path) -> None:
    directory = write_data(tmp_path, _base())

    report = run(directory, root="3302")

    assert report.added == 5
    assert set(Region.objects.values_list("code", flat=True)) == {
        "330000000000",
        "330200000000",
        "330201000000",
        "330201001000",
        "330201001001",
    }
    assert region("3302").parent == region("33")
    assert run(directory, root="330200").added == 0  # the same subtree, padded
    report = run(directory, root="330102")
    assert report.added == 1 + 1 + 1 + 2  # city 3301, county, township, 2 villages; province known
    assert report.unchanged == 1


def test_unknown_root_is_an_error(tmp_path: Path) -> None:
    directory = write_data(tmp_path, _base())
    with pytest.raises(UnknownRootError):
        run(directory, root="3399")
    with pytest.raises(UnknownRootError):
        run(directory, root="33x1")
    with pytest.raises(CommandError):
        call_command("import_regions", root="3399", data_dir=str(directory))
    assert Region.objects.count() == 0


def test_placeholder_level_collapses_into_parent(tmp_path: Path) -> None:
    data = _base()
    # Like 东莞市: a city without counties has a pseudo county with the city's own code.
    data["cities"].append(["3303", "丙市", "33"])
    data["areas"].append(["330300", "丙市", "3303", "33"])
    data["streets"].append(["330300001", "丙一镇", "330300", "33", "3303"])
    data["villages"].append(["330300001001", "丙一村", "330300001", "33", "3303", "330300"])

    report = run(write_data(tmp_path, data))

    assert [(p.file, p.line) for p in report.placeholders] == [("areas.csv.gz", 5)]
    town = region("330300001")
    assert town.parent == region("3303")
    assert town.path == "330000000000/330300000000/330300001000/"
    assert report.added == 13 + 3
    assert run(tmp_path).updated == 0


def test_command_prints_summary_and_bad_rows(tmp_path: Path) -> None:
    data = _base()
    data["areas"].append(["33011", "短码区", "3301", "33"])
    directory = write_data(tmp_path, data)
    out, err = io.StringIO(), io.StringIO()

    call_command("import_regions", data_dir=str(directory), stdout=out, stderr=err)

    assert "新增 13" in out.getvalue() and "added 13" in out.getvalue()
    assert "areas.csv.gz:5:" in err.getvalue()
    out = io.StringIO()
    call_command("import_regions", "--dry-run", data_dir=str(directory), stdout=out, stderr=io.StringIO())
    assert "unchanged 13" in out.getvalue()


def _csv_codes(path: Path, prefix: str) -> int:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        next(reader)
        return sum(1 for row in reader if row[0].startswith(prefix))


def test_real_hangzhou_subtree() -> None:
    directory = Path(settings.SHARED_DATA_DIR) / "divisions"
    if not (directory / "villages.csv.gz").exists():
        pytest.skip("shared division data not available")

    report = run(directory, root="3301")

    expected = {
        RegionLevel.PROVINCE: 1,
        RegionLevel.CITY: 1,
        RegionLevel.COUNTY: _csv_codes(directory / "areas.csv.gz", "3301"),
        RegionLevel.TOWNSHIP: _csv_codes(directory / "streets.csv.gz", "3301"),
        RegionLevel.VILLAGE: _csv_codes(directory / "villages.csv.gz", "3301"),
    }
    assert report.bad_rows == [] and report.placeholders == []
    for level, count in expected.items():
        assert Region.objects.filter(level=level).count() == count, level
    assert report.added == sum(expected.values()) == Center.objects.count()
    assert region("3301").name == "杭州市"
    assert (
        Region.objects.filter(level=RegionLevel.VILLAGE, path__startswith=region("3301").path).count()
        == (expected[RegionLevel.VILLAGE])
    )
    assert run(directory, root="3301").added == 0


def test_grid_created_after_import(tmp_path: Path) -> None:
    run(write_data(tmp_path, _base()))
    grid = make_grid(region("330201001001"))
    assert Grid.objects.get(pk=grid.pk).region_path == region("330201001001").path
