"""Sensor descriptions, the resolution plan and the block means (issue 11): the data the pipeline is driven by."""
from __future__ import annotations

import json

import numpy as np
import pytest

from sen2cor3.blocks import block_mean, block_mean_dn
from sen2cor3.config import load_config
from sen2cor3.errors import ProcessingError
from sen2cor3.plan import plan_for
from sen2cor3.rt.sixs import DATA_DIR
from sen2cor3.sensors import L8, L9, ROLE_NAMES, S2A, S2B, S2C, S2D, S2P, SENSORS, sensor_for


def test_msi_wavelengths_are_the_ac_gipp_ones():
    """The band centres of the description are those of the shipped L2A_CAL_AC_GIPP (Sensor/Calibration)."""
    gipp = load_config().ac.sensor.calibration.wavelength
    assert len(gipp) == 13
    np.testing.assert_allclose([b.wavelength_nm / 1000 for b in S2A.bands], gipp, atol=5e-4)


@pytest.mark.parametrize("sensor", list(SENSORS.values()), ids=list(SENSORS))
def test_roles_name_bands_of_the_sensor(sensor):
    for role in ROLE_NAMES:
        band = sensor.roles.band(role)
        assert band is None or band in sensor.band_names, (sensor.mission_id, role, band)
    assert all(b in sensor.band_names for b in sensor.tci_bands + sensor.base_bands + sensor.fine_bands)
    for res, layers in sensor.l2a_layers.items():
        assert all(x in sensor.band_names or x in ("SCL", "AOT", "WVP", "TCI") for x in layers), res
        assert sensor.roles.cirrus not in layers            # the cirrus band has no BOA output


@pytest.mark.parametrize("sensor", list(SENSORS.values()), ids=list(SENSORS))
def test_table_bands_exist_in_the_shipped_tables(sensor):
    manifest = DATA_DIR / "manifest.json"
    if not manifest.exists():
        pytest.skip("6S tables not built")
    tabulated = json.loads(manifest.read_text())["sensors"][sensor.table_sensor]["bands"]
    assert {b.table_band for b in sensor.bands} <= set(tabulated)


def test_sensor_facts():
    assert sensor_for("s2b") is S2B and sensor_for("LC08") is L8 and sensor_for("L9") is L9
    assert S2D.table_sensor == "S2C" and S2P.table_sensor == "S2A" and S2C.table_sensor == "S2C"
    assert S2P.resolution_m["B01"] == 60 and {S2P.resolution_m[b] for b in S2P.band_names if b != "B01"} == {30}
    assert S2P.output_bands(30) == ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B8A", "B11", "B12")
    assert S2A.output_bands(10) == ("B02", "B03", "B04", "B08") and "B09" in S2A.output_bands(60)
    assert L8.roles.red_edge is None and L8.roles.wv_absorption is None and L8.wv_source == "CAMS"
    assert S2P.classic_sc_only and L9.classic_sc_only and not S2A.classic_sc_only
    assert S2A.boa.offset_for(True) == 1000 and S2A.boa.offset_for(False) == 0
    with pytest.raises(KeyError, match="unknown spacecraft"):
        sensor_for("S3A")


def test_roles_select_keys_arrays_by_role():
    """Band-keyed arrays become role-keyed; a band in two roles (B8A: NIR and WV reference) serves both."""
    assert S2A.roles.select({"B04": 1, "B8A": 2, "B06": 3}) == {"red": 1, "nir": 2, "wv_reference": 2}
    assert L8.roles.select({"B4": 1, "B5": 2}) == {"red": 1, "nir": 2}
    assert not L8.roles.has("red_edge") and S2A.roles.has("red_edge", "cirrus")


@pytest.mark.parametrize("sensor, resolution, sc_only, down, base, outputs", [
    (S2A, None, False, True, 20, (20, 10, 60)),
    (S2A, 10, False, True, 20, (20, 10, 60)),
    (S2A, 10, False, False, 20, (20, 10)),
    (S2A, 20, False, True, 20, (20, 60)),
    (S2A, 20, False, False, 20, (20,)),
    (S2A, 60, False, True, 60, (60,)),
    (S2A, None, True, True, 20, (20, 60)),
    (S2A, 60, True, True, 60, (60,)),
    (S2P, 30, False, True, 30, (30,)),
    (S2P, 30, True, True, 30, (30,)),
    (L8, None, False, True, 30, (30,)),
])
def test_resolution_plan(sensor, resolution, sc_only, down, base, outputs):
    plan = plan_for(sensor, resolution, sc_only=sc_only, downsample_20_to_60=down)
    assert plan.base_m == base and plan.outputs == outputs
    assert plan.refined == ((10,) if 10 in outputs else ())
    assert plan.downsampled == ((60,) if 60 in outputs and base == 20 else ())


@pytest.mark.parametrize("sensor, resolution, sc_only, fragment", [
    (S2P, 20, False, "30 m only"), (S2P, 60, False, "30 m only"), (S2A, 30, False, "--resolution 30"),
    (S2A, 10, True, "--sc_only"),
])
def test_resolution_plan_refusals(sensor, resolution, sc_only, fragment):
    with pytest.raises(ProcessingError, match=fragment):
        plan_for(sensor, resolution, sc_only=sc_only)


def _reference_block_mean(a, k, valid=None):
    ny, nx = a.shape
    out = np.full((-(-ny // k), -(-nx // k)), np.nan)
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            blk = a[i * k:(i + 1) * k, j * k:(j + 1) * k].astype(np.float64)
            m = np.ones(blk.shape, bool) if valid is None else valid[i * k:(i + 1) * k, j * k:(j + 1) * k]
            if m.any():
                out[i, j] = blk[m].mean()
    return out


def test_block_mean_float_with_and_without_valid():
    rng = np.random.default_rng(0)
    a = rng.random((23, 17)).astype(np.float32)
    valid = rng.random((23, 17)) > 0.3
    valid[:3, :3] = False                                   # an all-invalid block gives NaN
    np.testing.assert_allclose(block_mean(a, 3), _reference_block_mean(a, 3), rtol=1e-12)
    np.testing.assert_allclose(block_mean(a, 3, valid), _reference_block_mean(a, 3, valid), rtol=1e-12)
    assert np.isnan(block_mean(a, 3, valid)[0, 0])


def test_block_mean_dn_rules():
    rng = np.random.default_rng(1)
    a = rng.integers(0, 4000, (30, 33)).astype(np.uint16)
    a[rng.random(a.shape) < 0.1] = 0
    a[:3, :3] = 0
    blocks = a.reshape(10, 3, 11, 3).astype(np.float64)
    s, n = blocks.sum(axis=(1, 3)), (blocks > 0).sum(axis=(1, 3))
    any_zero = (blocks == 0).any(axis=(1, 3))
    np.testing.assert_array_equal(block_mean_dn(a, 3, "any"), np.where(any_zero, 0, np.rint(s / 9)))
    np.testing.assert_array_equal(block_mean_dn(a, 3, "ignore"),
                                  np.where(n > 0, np.trunc(s / np.maximum(n, 1) + 0.5), 0))
    np.testing.assert_array_equal(block_mean_dn(a, 3, "none"), np.trunc(s / 9 + 0.5))
    assert block_mean_dn(a, 3, "ignore")[0, 0] == 0
    with pytest.raises(ValueError):
        block_mean_dn(a, 3, "sometimes")
