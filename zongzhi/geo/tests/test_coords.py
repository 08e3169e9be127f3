"""Coordinate systems: reference values, round trips under 1 cm inside China, identity outside."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zongzhi.geo import coords

# wandergis/coordtransform's published examples (the de-facto reference implementation).
REFERENCE = [
    ("wgs84_to_gcj02", (116.404, 39.915), (116.41024449916938, 39.91640428150164)),
    ("gcj02_to_bd09", (116.404, 39.915), (116.41036949371029, 39.92133699351021)),
]

# Inside the rough China box, away from its edges (the shift is ~500 m, so a margin keeps the
# WGS-84 point and its GCJ-02 image on the same side of the box).
china_lon = st.floats(min_value=73.0, max_value=135.0, allow_nan=False)
china_lat = st.floats(min_value=4.0, max_value=54.0, allow_nan=False)


@pytest.mark.parametrize(("name", "given_xy", "expected"), REFERENCE)
def test_reference_points(name, given_xy, expected):
    got = getattr(coords, name)(*given_xy)
    assert got == pytest.approx(expected, abs=1e-9)


def test_bd09_to_gcj02_matches_the_published_approximation_within_a_decimetre():
    # coordtransform's closed-form inverse gives (116.39762729119315, 39.90865673957631); ours is
    # exact (iterated), so it differs from that approximation by well under a metre.
    lon, lat = coords.bd09_to_gcj02(116.404, 39.915)
    assert coords.haversine_m(lon, lat, 116.39762729119315, 39.90865673957631) < 0.1
    assert coords.gcj02_to_bd09(lon, lat) == pytest.approx((116.404, 39.915), abs=1e-10)


def test_shift_in_hangzhou_is_a_few_hundred_metres():
    wgs = (120.15507, 30.27408)
    gcj = coords.wgs84_to_gcj02(*wgs)
    bd = coords.wgs84_to_bd09(*wgs)
    assert 200 < coords.haversine_m(*wgs, *gcj) < 800
    assert 600 < coords.haversine_m(*wgs, *bd) < 2000


@settings(max_examples=300, deadline=None)
@given(china_lon, china_lat)
def test_gcj02_round_trip_under_a_centimetre_in_china(lon, lat):
    back = coords.gcj02_to_wgs84(*coords.wgs84_to_gcj02(lon, lat))
    assert coords.haversine_m(lon, lat, *back) < 0.01


@settings(max_examples=300, deadline=None)
@given(china_lon, china_lat)
def test_bd09_round_trip_under_a_centimetre_in_china(lon, lat):
    back = coords.bd09_to_wgs84(*coords.wgs84_to_bd09(lon, lat))
    assert coords.haversine_m(lon, lat, *back) < 0.01
    # and the other way round: a BD-09 point read back
    wgs = coords.to_wgs84(lon, lat, "bd09")
    assert coords.haversine_m(lon, lat, *coords.from_wgs84(*wgs, "bd09")) < 0.01


@settings(max_examples=200, deadline=None)
@given(china_lon, china_lat)
def test_gcj02_input_round_trip(lon, lat):
    wgs = coords.to_wgs84(lon, lat, "gcj02")
    assert coords.haversine_m(lon, lat, *coords.from_wgs84(*wgs, "gcj02")) < 0.01


outside = st.one_of(
    st.tuples(st.floats(-180, 71.9), st.floats(-90, 90)),
    st.tuples(st.floats(137.9, 180), st.floats(-90, 90)),
    st.tuples(st.floats(-180, 180), st.floats(55.9, 90)),
    st.tuples(st.floats(-180, 180), st.floats(-90, 0.8)),
)


@settings(max_examples=200, deadline=None)
@given(outside)
def test_outside_china_gcj02_equals_wgs84(point):
    lon, lat = point
    assert coords.wgs84_to_gcj02(lon, lat) == (lon, lat)
    assert coords.gcj02_to_wgs84(lon, lat) == (lon, lat)
    assert coords.to_wgs84(lon, lat, "gcj02") == (lon, lat)


def test_known_outside_points():
    assert coords.out_of_china(2.35, 48.85)  # Paris
    assert coords.out_of_china(139.69, 35.69)  # Tokyo
    assert not coords.out_of_china(116.4, 39.9)  # Beijing
    assert coords.wgs84_to_gcj02(-0.1276, 51.5072) == (-0.1276, 51.5072)


def test_wgs84_is_the_identity_and_names_are_checked():
    assert coords.to_wgs84(120.1, 30.2, "wgs84") == (120.1, 30.2)
    assert coords.from_wgs84(120.1, 30.2, "CGCS2000") == (120.1, 30.2)
    assert coords.check_crs("GCJ-02") == "gcj02"
    with pytest.raises(coords.UnknownCRS):
        coords.to_wgs84(120.1, 30.2, "epsg3857")


def test_vectorised_matches_scalar():
    rng = np.random.default_rng(7)
    lon = rng.uniform(100, 125, 500)
    lat = rng.uniform(20, 45, 500)
    gx, gy = coords.wgs84_to_gcj02_array(lon, lat)
    for k in (0, 123, 499):
        assert (gx[k], gy[k]) == pytest.approx(coords.wgs84_to_gcj02(lon[k], lat[k]), abs=1e-12)
    bx, by = coords.to_wgs84_array(*coords.from_wgs84_array(lon, lat, "bd09"), "bd09")
    assert np.max(np.abs(bx - lon)) < 1e-9 and np.max(np.abs(by - lat)) < 1e-9
    xy = np.column_stack([lon, lat])
    assert np.allclose(coords.to_wgs84_xy(coords.from_wgs84_xy(xy, "gcj02"), "gcj02"), xy, atol=1e-10)
