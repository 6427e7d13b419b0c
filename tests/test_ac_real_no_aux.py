"""Issue 13: real pixels without any auxiliary data keep the AOT map inside Sen2Cor's visibility range.

The real S2B T55JGF L1C (``tests/real_t55jgf.py``, built from ../shared/data) with its AUX_DATA removed (no
ECMWF, no CAMS) and no DEM, default GIPPs, at 60 m: the AOT comes from the DDV pixels or, without them, from
the GIPP visibility. Sen2Cor keeps the visibility within its 5-120 km table range, so every valid pixel's AOT
lies between the AOT of 120 km and of 5 km at the ground height the correction assumes (the GIPP altitude),
and never takes the image's no-data value 0; GRANULE_MEAN_AOT and FINAL_VISIBILITY_KM are consistent with it.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import real_t55jgf as R  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
_REASON = R.missing_reason()
pytestmark = pytest.mark.skipif(_REASON is not None, reason=_REASON or "")
#: AOT image quantification (Sen2Cor: AOT x 1000) and the DN tolerance of the bounds (one DN of rounding).
AOT_QUANTIFICATION, DN_TOLERANCE = 1000.0, 1


@pytest.fixture(scope="module")
def run(t55jgf_l1c, tmp_path_factory):
    l1c = tmp_path_factory.mktemp("t55jgf_noaux_l1c") / t55jgf_l1c.name
    shutil.copytree(t55jgf_l1c, l1c)                 # the session's real SAFE stays untouched
    aux = next(l1c.glob("GRANULE/*/AUX_DATA"))
    shutil.rmtree(aux)
    aux.mkdir()                                   # an empty AUX_DATA, as an L1C without ECMWF data has
    out = tmp_path_factory.mktemp("t55jgf_noaux_l2a")
    env = dict(os.environ, SEN2COR_HOME=str(out.parent / f".home_{out.name}"))
    proc = subprocess.run([sys.executable, str(ROOT / "L2A_Process.py"), str(l1c), "--output_dir", str(out),
                           "--resolution", "60"], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return next(out.glob("S2B_MSIL2A_*.SAFE")), proc


def test_aot_inside_the_visibility_range_at_every_valid_pixel(run):
    from sen2cor3.ac.aot import VISIBILITY_MAX_KM, VISIBILITY_MIN_KM
    from sen2cor3.ac.atmos import koschmieder_aot
    from sen2cor3.config.gipp import load_config
    l2a, _ = run
    scl = R.read_image(l2a, "SCL", 60)
    aot = R.read_image(l2a, "AOT", 60).astype(np.int64)
    valid = scl > 1                                        # Sen2Cor: AOT 0 where SCL <= 1
    assert valid.mean() > 0.3
    z_km = float(load_config().l2a.atmospheric_correction.calibration.altitude)
    lo = koschmieder_aot(VISIBILITY_MAX_KM, z_km) * AOT_QUANTIFICATION
    hi = koschmieder_aot(VISIBILITY_MIN_KM, z_km) * AOT_QUANTIFICATION
    assert not np.any(aot[valid] == 0), "AOT no-data value inside valid pixels"
    assert aot[valid].min() >= np.floor(lo) - DN_TOLERANCE, (aot[valid].min(), lo)
    assert aot[valid].max() <= np.ceil(hi) + DN_TOLERANCE, (aot[valid].max(), hi)
    assert np.all(aot[~valid] == 0)


def test_granule_mean_aot_and_final_visibility_consistent(run):
    from sen2cor3.ac.aot import VISIBILITY_MAX_KM, VISIBILITY_MIN_KM
    from sen2cor3.ac.atmos import koschmieder_aot, visibility_from_aot
    from sen2cor3.config.gipp import load_config
    l2a, proc = run
    q = R.quality(l2a)
    z_km = float(load_config().l2a.atmospheric_correction.calibration.altitude)
    mean_aot = float(q["GRANULE_MEAN_AOT"])
    assert koschmieder_aot(VISIBILITY_MAX_KM, z_km) - 1e-3 <= mean_aot <= koschmieder_aot(VISIBILITY_MIN_KM, z_km)
    vis = float(q["FINAL_VISIBILITY_KM"])
    assert VISIBILITY_MIN_KM <= vis <= VISIBILITY_MAX_KM
    assert q["AOT_RETRIEVAL_METHOD"] in ("SEN2COR_DDV", "DEFAULT")     # no CAMS without aux data
    # the visibility reported is the one of the mean AOT written (within the AOT image's rounding)
    assert abs(float(visibility_from_aot(mean_aot, z_km)) - vis) <= 0.05 * vis
    if q["AOT_RETRIEVAL_METHOD"] == "DEFAULT":
        assert "DEFAULT" in proc.stdout + proc.stderr or "visibility" in (proc.stdout + proc.stderr).lower()
