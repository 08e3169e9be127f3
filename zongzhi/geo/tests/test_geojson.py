"""Parsing and validating grid GeoJSON (pure, no database)."""

from __future__ import annotations

import json

import pytest
import shapely

from zongzhi.core.errors import FieldError
from zongzhi.geo import coords, geojson

VILLAGE = "330102001001"


def square(x0=120.15, y0=30.27, d=0.005):
    return [[[x0, y0], [x0 + d, y0], [x0 + d, y0 + d], [x0, y0 + d], [x0, y0]]]


def feature(code=VILLAGE + "001", geometry=None, **props):
    base = {"code": code, "name": "第一网格", "village_code": VILLAGE, "population": 300}
    base.update(props)
    return {
        "type": "Feature",
        "properties": base,
        "geometry": geometry if geometry is not None else {"type": "Polygon", "coordinates": square()},
    }


def fc(*features, **extra):
    return {"type": "FeatureCollection", "features": list(features), **extra}


def test_a_good_collection_parses():
    result = geojson.parse_grid_collection(fc(feature(), feature(VILLAGE + "002", name="第二网格")))
    assert not result.errors
    assert [g.code for g in result.grids] == [VILLAGE + "001", VILLAGE + "002"]
    grid = result.grids[0]
    assert grid.village_code == VILLAGE and grid.population == 300
    assert grid.geometry.is_valid and grid.geometry.geom_type == "Polygon"
    assert geojson.bbox(grid.geometry) == pytest.approx((120.15, 30.27, 120.155, 30.275))


def test_text_and_bytes_are_accepted():
    text = json.dumps(fc(feature()))
    assert geojson.parse_grid_collection(text).grids
    assert geojson.parse_grid_collection(text.encode()).grids


@pytest.mark.parametrize(
    ("data", "code"),
    [
        ("{not json", "invalid_json"),
        ({"type": "Feature"}, "not_feature_collection"),
        ({"type": "FeatureCollection"}, "not_feature_collection"),
    ],
)
def test_unusable_files_are_rejected_as_a_whole(data, code):
    with pytest.raises(FieldError) as exc:
        geojson.parse_grid_collection(data)
    assert exc.value.code == code


def test_every_bad_feature_is_reported_with_its_index_and_good_ones_kept():
    data = fc(
        feature(),  # 0 good
        feature(VILLAGE + "002", geometry={"type": "Point", "coordinates": [120.1, 30.2]}),  # 1
        feature("12345"),  # 2 bad code
        feature("330102001002001"),  # 3 code not under the village
        feature(VILLAGE + "004", name=""),  # 4 name
        feature(VILLAGE + "005", population=-3),  # 5 population
        feature(VILLAGE + "001"),  # 6 duplicate of 0
        feature(VILLAGE + "007", village_code="33"),  # 7
        {"type": "Feature", "properties": {}, "geometry": None},  # 8
    )
    result = geojson.parse_grid_collection(data)
    assert [g.index for g in result.grids] == [0]
    assert [(e.index, e.code) for e in result.errors] == [
        (1, "geometry_type"),
        (2, "bad_code"),
        (3, "code_village_mismatch"),
        (4, "name_required"),
        (5, "bad_population"),
        (6, "duplicate_code"),
        (7, "bad_village_code"),
        (8, "bad_code"),
    ]
    assert all(e.message for e in result.errors)


def test_village_code_defaults_to_the_code_prefix_and_numbers_may_be_strings():
    f = feature(population="1200", households=400)
    del f["properties"]["village_code"]
    grid = geojson.parse_grid_collection(fc(f)).grids[0]
    assert grid.village_code == VILLAGE and grid.population == 1200 and grid.households == 400


def test_swapped_coordinates_are_swapped_back_with_a_warning():
    swapped = [[[y, x] for x, y in square()[0]]]
    result = geojson.parse_grid_collection(fc(feature(geometry={"type": "Polygon", "coordinates": swapped})))
    assert not result.errors
    assert [w.code for w in result.warnings] == ["coordinate_order_swapped"]
    assert result.grids[0].geometry.bounds == pytest.approx((120.15, 30.27, 120.155, 30.275))


def test_mixed_coordinate_order_is_rejected():
    ring = square()[0]
    ring[1] = [ring[1][1], ring[1][0]]
    result = geojson.parse_grid_collection(fc(feature(geometry={"type": "Polygon", "coordinates": [ring]})))
    assert [(e.index, e.code) for e in result.errors] == [(0, "coordinate_order_mixed")]


def test_out_of_range_coordinates_are_rejected():
    geom = {"type": "Polygon", "coordinates": [[[200, 30], [201, 30], [201, 31], [200, 30]]]}
    result = geojson.parse_grid_collection(fc(feature(geometry=geom)))
    assert result.errors[0].code == "coordinates_out_of_range"


def test_a_small_self_intersection_is_repaired_with_a_warning():
    # a square with a zero-width spike: invalid, repair keeps the area
    x, y, d = 120.15, 30.27, 0.01
    ring = [
        [x, y],
        [x + d, y],
        [x + d, y + d],
        [x + d / 2, y + d],
        [x + d / 2, y + 2 * d],
        [x + d / 2, y + d],
        [x, y + d],
        [x, y],
    ]
    result = geojson.parse_grid_collection(fc(feature(geometry={"type": "Polygon", "coordinates": [ring]})))
    assert not result.errors
    assert [w.code for w in result.warnings] == ["geometry_repaired"]
    assert result.grids[0].geometry.is_valid


def test_a_bow_tie_is_rejected_with_the_reason():
    x, y, d = 120.15, 30.27, 0.01
    ring = [[x, y], [x + d, y + d], [x + d, y], [x, y + d], [x, y]]
    result = geojson.parse_grid_collection(fc(feature(geometry={"type": "Polygon", "coordinates": [ring]})))
    assert result.errors[0].code == "geometry_invalid"
    assert "Self-intersection" in result.errors[0].message


def test_a_ring_with_too_few_points_is_rejected():
    geom = {"type": "Polygon", "coordinates": [[[120.1, 30.1], [120.2, 30.1], [120.1, 30.1]]]}
    result = geojson.parse_grid_collection(fc(feature(geometry=geom)))
    assert result.errors[0].code in ("bad_coordinates", "geometry_invalid")


def test_multipolygon_is_accepted():
    geom = {"type": "MultiPolygon", "coordinates": [square(), square(120.2)]}
    grid = geojson.parse_grid_collection(fc(feature(geometry=geom))).grids[0]
    assert grid.geometry.geom_type == "MultiPolygon"


def test_gcj02_input_is_converted_to_wgs84():
    wgs = shapely.Polygon(square()[0])
    gcj_ring = [list(coords.wgs84_to_gcj02(x, y)) for x, y in square()[0]]
    by_argument = geojson.parse_grid_collection(
        fc(feature(geometry={"type": "Polygon", "coordinates": [gcj_ring]})), crs="gcj02"
    )
    declared = geojson.parse_grid_collection(
        fc(feature(geometry={"type": "Polygon", "coordinates": [gcj_ring]}), crs="gcj02")
    )
    for result in (by_argument, declared):
        assert result.crs == "gcj02"
        assert shapely.equals_exact(shapely.normalize(result.grids[0].geometry), shapely.normalize(wgs), 1e-6)


def test_conflicting_crs_is_rejected():
    with pytest.raises(FieldError) as exc:
        geojson.parse_grid_collection(fc(feature(), crs="bd09"), crs="gcj02")
    assert exc.value.code == "crs_conflict"


def test_legacy_named_crs_is_understood():
    data = fc(feature(), crs={"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}})
    assert geojson.parse_grid_collection(data).crs == "wgs84"


def test_export_round_trip_in_bd09():
    grid = geojson.parse_grid_collection(fc(feature())).grids[0]
    exported = geojson.feature_collection(
        [
            geojson.grid_feature(
                code=grid.code,
                name=grid.name,
                village_code=grid.village_code,
                population=grid.population,
                households=0,
                geometry=grid.geometry,
                crs="bd09",
                digits=9,
            )
        ],
        crs="bd09",
    )
    assert exported["crs"] == "bd09"
    back = geojson.parse_grid_collection(json.dumps(exported)).grids[0]
    assert back.code == grid.code
    assert shapely.hausdorff_distance(back.geometry, grid.geometry) < 1e-6


def test_stored_text_round_trips_and_is_compact():
    geom, _ = geojson.parse_geometry({"type": "Polygon", "coordinates": square()})
    text = geojson.geometry_text(geom)
    assert " " not in text
    assert geojson.load_geometry(text).equals(geom)
    assert geojson.load_geometry("") is None


def test_area_in_square_metres():
    geom, _ = geojson.parse_geometry({"type": "Polygon", "coordinates": square(d=0.01)})
    # 0.01° × 0.01° at 30.27° N ≈ 1113 m × 962 m
    assert geojson.area_m2(geom) == pytest.approx(1113.2 * 961.7, rel=0.01)


def test_region_boundaries_parse():
    data = fc(
        {
            "type": "Feature",
            "properties": {"region_code": VILLAGE},
            "geometry": {"type": "Polygon", "coordinates": square()},
        },
        {
            "type": "Feature",
            "properties": {"region_code": "33"},
            "geometry": {"type": "Polygon", "coordinates": square()},
        },
    )
    result = geojson.parse_boundary_collection(data)
    assert [b.region_code for b in result.boundaries] == [VILLAGE]
    assert [(e.index, e.code) for e in result.errors] == [(1, "bad_region_code")]
