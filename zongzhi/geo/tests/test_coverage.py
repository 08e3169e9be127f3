"""The coverage check: overlaps, gaps, grids outside their village, population limits."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from zongzhi.geo.coverage import coverage_report, is_urban
from zongzhi.geo.geojson import geometry_text, parse_geometry
from zongzhi.geo.services import grids_import

from .helpers import collection, grid_feature, polygon

pytestmark = pytest.mark.django_db


def _set_boundary(region, geometry):
    geom, _ = parse_geometry(geometry)
    region.boundary_geojson = geometry_text(geom)
    region.save()


def _import(*features):
    report = grids_import(actor=None, data=collection(*features))
    assert report.ok, report.errors


def test_clean_tiling_passes(tree):
    a1a = tree["A1a"]  # 甲一社区: urban
    _set_boundary(a1a, polygon(0, 0, 2, 1))
    _import(
        grid_feature(a1a.code + "001", polygon(0, 0), population=1500),
        grid_feature(a1a.code + "002", polygon(1, 0), population=1500),
    )
    report = coverage_report(tree["A1"], unassigned=[])
    assert report.ok, report.lines()
    assert report.grid_count == 2 and report.checked_boundaries == [a1a.code]


def test_overlap_gap_outside_and_population_are_found(tree):
    a1a, a1b = tree["A1a"], tree["A1b"]
    _set_boundary(a1a, polygon(0, 0, 3, 1))  # room for three cells
    _set_boundary(a1b, polygon(0, 2, 1, 1))
    _import(
        grid_feature(a1a.code + "001", polygon(0, 0), population=1500),
        grid_feature(a1a.code + "002", polygon(0.5, 0), population=2500),  # half over 001; urban > 2000
        # cell 2 of A1a is left empty: a gap of one cell
        grid_feature(
            a1b.code + "001", polygon(0, 2, 1, 1, dx=0.002), population=800
        ),  # half outside; rural > 500
    )
    from zongzhi.orgs.models import Grid

    Grid.objects.create(
        code=a1b.code + "002", name="无边界", village=a1b, region_path=a1b.path, population=10
    )
    report = coverage_report(tree["A1"], unassigned=[(120.5, 30.5)])
    assert not report.ok

    [overlap] = report.overlaps
    assert (overlap.a_code, overlap.b_code) == (a1a.code + "001", a1a.code + "002")
    cell = 0.004 * 111_195 * 0.004 * 111_195 * 0.8636  # m² of one cell at 30.27° N
    assert overlap.area_m2 == pytest.approx(cell / 2, rel=0.02)

    gaps = {g.region_code: g.area_m2 for g in report.gaps}
    assert set(gaps) == {a1a.code, a1b.code}
    assert gaps[a1a.code] == pytest.approx(cell * 1.5, rel=0.02)  # 3 cells − 1.5 covered
    assert gaps[a1b.code] == pytest.approx(cell / 2, rel=0.02)

    [outside] = report.outside
    assert outside.code == a1b.code + "001" and outside.area_m2 == pytest.approx(cell / 2, rel=0.02)

    assert report.without_polygon == [a1b.code + "002"]
    flags = {(p.code, p.problem, p.urban) for p in report.population}
    assert flags == {
        (a1a.code + "002", "above_max", True),
        (a1b.code + "001", "above_max", False),
    }
    assert report.unassigned_count == 1

    kinds = sorted(f["properties"]["kind"] for f in report.features())
    assert kinds == ["gap", "gap", "outside", "overlap", "unassigned"]
    text = "\n".join(report.lines())
    assert "重叠" in text and "缝隙" in text and "未入格" in text


def test_shared_edges_are_not_overlaps_and_slivers_below_the_threshold_are_ignored(tree, settings):
    a1a = tree["A1a"]
    _import(
        grid_feature(a1a.code + "001", polygon(0, 0), population=1500),
        grid_feature(a1a.code + "002", polygon(1, 0), population=1500),  # shares an edge
        # overlaps 001 by 1e-7° (~1 cm) along a 445 m edge: ~4.3 m²
        grid_feature(a1a.code + "003", polygon(0, 1, dx=0.0), population=1500),
        grid_feature(a1a.code + "004", polygon(1, 1, dx=-1e-7), population=1500),
    )
    [sliver] = coverage_report(a1a).overlaps
    assert (sliver.a_code, sliver.b_code) == (a1a.code + "003", a1a.code + "004")
    assert sliver.area_m2 == pytest.approx(4.3, rel=0.05)
    settings.ZZ_COVERAGE_MIN_OVERLAP_M2 = 10
    assert coverage_report(a1a).overlaps == []


def test_urban_below_minimum_is_flagged_rural_zero_is_not(tree):
    _import(
        grid_feature(tree["A1a"].code + "001", polygon(0, 0), population=300),
        grid_feature(tree["A1b"].code + "001", polygon(1, 0), population=0),
    )
    report = coverage_report(tree["A1"])
    assert [(p.code, p.problem) for p in report.population] == [(tree["A1a"].code + "001", "below_min")]


def test_limits_come_from_settings(tree, settings):
    settings.ZZ_GRID_POP_RURAL_MAX = 1000
    _import(grid_feature(tree["A1b"].code + "001", polygon(0, 0), population=800))
    assert coverage_report(tree["A1b"]).population == []


def test_urban_rule():
    assert is_urban("西湖社区") and not is_urban("梅家坞村") and not is_urban("社区服务中心村")


def test_check_coverage_command_exits_1_on_problems(tree, capsys):
    a1a = tree["A1a"]
    _import(
        grid_feature(a1a.code + "001", polygon(0, 0), population=1500),
        grid_feature(a1a.code + "002", polygon(0.5, 0), population=1500),
    )
    with pytest.raises(SystemExit) as exc:
        call_command("check_coverage", "--region", a1a.code)
    assert exc.value.code == 1
    assert "重叠" in capsys.readouterr().out


def test_check_coverage_command_passes_quietly(tree, capsys):
    _import(grid_feature(tree["A1a"].code + "001", polygon(0, 0), population=1500))
    call_command("check_coverage", "--region", tree["A1a"].code)
    assert "通过" in capsys.readouterr().out


def test_import_and_export_commands(tree, tmp_path, capsys):
    import json

    source = tmp_path / "grids.geojson"
    source.write_text(
        json.dumps(collection(grid_feature(tree["A1a"].code + "001", polygon(0, 0), population=1200))),
        encoding="utf-8",
    )
    call_command("import_grids", str(source))
    out = tmp_path / "out.geojson"
    call_command("export_grids", "--region", tree["A1"].code, "--crs", "bd09", "-o", str(out))
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["crs"] == "bd09" and [f["properties"]["code"] for f in data["features"]] == [
        tree["A1a"].code + "001"
    ]

    bad = tmp_path / "bad.geojson"
    bad.write_text(json.dumps(collection(grid_feature("1", polygon(0, 0)))), encoding="utf-8")
    with pytest.raises(SystemExit):
        call_command("import_grids", str(bad))
    assert "bad_code" in capsys.readouterr().err
