"""Real-data check of the atmospheric correction core against two independent processors (issue 6).

There is no real Sen2Cor L1C/L2A pair in ../shared/data; the closest real reference is
``openeo-icor-smac-ac-reference`` (see its MANIFEST.md): a real S2 L1C crop and the BOA that iCOR
(MODTRAN LUT) and SMAC produced from it in the openEO geotrellis tests.

Data and conventions (read from the files and the openEO test/processor sources):

* L1C: S2B_MSIL1C_20190411T105029_N0207_R051_T31UFS (product named in the openEO test suite; iCOR ran
  with its S2B descriptor), so the satellite is **S2B** and the baseline N02.07 has no radiometric offset:
  TOA reflectance = DN / 10000. Crop 512 x 1024 px at 10 m (EPSG:32631, Belgium), bands B02 B03 B04 B08
  B8A B09 B11 (no B01/B05-B07/B10/B12). A -1000 offset would put the median blue TOA at ~0.003, below the
  Rayleigh path alone; DN / 1e4 gives ~0.10 (``test_toa_convention``).
* Angles: rasters of whole degrees (sun zenith 44, sun azimuth ~164, view zenith ~6, view azimuth ~298);
  iCOR used these same truncated values, so we do too (scene means).
* iCOR outputs (``ref_check_icor_S2_*``): BOA * 1e4 stored in UInt16, negative values wrapped (two's
  complement, e.g. 65475 = -61); the auxiliary layers are the processor's debug bands, value * 100 truncated:
  AOT550 = 0.14 everywhere (CAMS), CWV (its own B09/B8A/B11 APDA-type retrieval, g/cm2), DEM (km).
  iCOR inverts each pixel with itself as background (no adjacency), ozone 0.33 cm-atm, land (no water mask).
* SMAC outputs (``ref_check_smac_S2_*``): BOA * 1e4, same AOT, constant 0.3 g/cm2 water vapour, no adjacency.

What is compared: our BOA at 20 m (input = 2 x 2 block means of the 10 m TOA; references block-averaged the
same way) with the real 6S tables (``AtmosphereModel("S2B", "rural", "summer", 331)``, ozone nearest to
iCOR's 330 DU; April at 51 N = summer in ``choose_luts``), flat scene at the iCOR DEM mean (38 m):

* (b) the reference's AOT (0.14) and CWV map given as the ``cams`` inputs with WV_Correction = 0, so only the
  surface-reflectance inversion differs; without adjacency (like-for-like) and with it (Sen2Cor's default);
* (a) our own retrieval where the bands allow it: APDA WV from B8A/B09; the DDV AOT needs B12 (missing), so
  the AOT falls back to the CAMS value (DDV -> CAMS -> DEFAULT), here the same 0.14.

Mask (no SCL without B10/B12; TOA thresholds at 20 m): clear land = TOA B02 <= 0.16 (brighter: clouds, haze,
roofs) and not within 3 px (60 m) of such a pixel, TOA B8A >= 0.15 and TOA B11 >= 0.05 (excludes water,
cloud shadows and the canal), TOA B02 >= 0.06 (a few defective pixels). About 65 % of the crop is kept.

Bounds: independent processors (MODTRAN vs 6S, different aerosol models) agree to a few 1e-3 in reflectance
given the same AOT/WV; we assert |mean difference| <= 0.01 and RMSE <= 0.02 per band (B02 B03 B04 B08)
against each reference. Measured (same AOT/WV, no adjacency; mean / RMSE; ``pytest -s`` prints the tables):
ours - iCOR B02 +0.0042/0.0042, B03 +0.0019/0.0019, B04 +0.0016/0.0016, B08 -0.0068/0.0070;
ours - SMAC B02 -0.0007/0.0007, B03 +0.0018/0.0018, B04 +0.0021/0.0021, B08 -0.0009/0.0017;
SMAC - iCOR B02 +0.0049, B03 +0.0001, B04 -0.0005, B08 -0.0059 (for scale).

Water vapour: our APDA (Sen2Cor's B09/B8A ratio through the 6S tables) gives 0.45 cm, iCOR's CWV 0.24 cm
over the mask (ratio ~1.9), outside the 20 % one might hope for. Investigated, not tuned: a B8A/B11 linear
continuum as iCOR uses changes ours by only 3 % (60 m: 0.448 -> 0.435 cm); the gap is most likely in the
B09 absorption model (6S band model vs MODTRAN): the observed B09/B8A ratio (0.514) is what our 6S tables
give at ~0.45 cm (two-way B09 gas transmittance 0.61 at 0.25 cm, 0.48 at 0.5 cm) while iCOR's MODTRAN LUT
puts it at ~0.24 cm. There is no
independent WV for that date in ../shared/data to say which is closer. So this test asserts only that the
two agree within a factor 2.5 and both lie in a plausible dry-air range (0.1..1.5 cm); the BOA bands
compared here barely depend on WV (B08 moves by 0.002 between the two WV values).
"""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace as NS

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "openeo-icor-smac-ac-reference" / "atmocorr"
BANDS = ("B02", "B03", "B04", "B08")
ALL = ("B02", "B03", "B04", "B08", "B8A", "B09", "B11")
MAX_MEAN, MAX_RMSE = 0.01, 0.02



def _data_or_skip():
    if not (DATA / "ref_input_S2_B02.tif").is_file():
        pytest.skip(f"real iCOR/SMAC reference data not found at {DATA} (../shared absent)")
    from sen2cor3.rt import tables
    if not tables.tables_available():
        pytest.skip("shipped 6S tables not built (sen2cor3/rt/data/manifest.json missing)")


def _read(name: str) -> np.ndarray:
    from osgeo import gdal
    ds = gdal.Open(str(DATA / f"{name}.tif"))
    assert ds is not None, name
    return ds.GetRasterBand(1).ReadAsArray().astype(np.int64)


def _boa(name: str) -> np.ndarray:
    """Reference BOA reflectance: UInt16 holding int16 (negative values wrapped), scale 1e-4."""
    a = _read(name)
    return np.where(a > 32767, a - 65536, a) / 1e4


def _to20(a: np.ndarray) -> np.ndarray:
    from sen2cor3.ac.atmos import block_mean
    return block_mean(np.asarray(a, np.float64), 2)


@pytest.fixture(scope="module")
def scene():
    _data_or_skip()
    from scipy.ndimage import binary_dilation
    from sen2cor3.ac.correct import Geometry
    toa = {b: (_to20(_read(f"ref_input_S2_{b}")) / 1e4).astype(np.float32) for b in ALL}
    ang = {k: float(_read(f"ref_input_S2_{k}").mean())
           for k in ("sunZenithAngles", "sunAzimuthAngles", "viewZenithMean", "viewAzimuthMean")}
    geo = Geometry(ang["sunZenithAngles"], ang["sunAzimuthAngles"], ang["viewZenithMean"], ang["viewAzimuthMean"])
    bright = toa["B02"] > 0.16
    mask = (~binary_dilation(bright, iterations=3) & (toa["B02"] >= 0.06) & (toa["B8A"] >= 0.15)
            & (toa["B11"] >= 0.05))
    ref = {p: {b: _to20(_boa(f"ref_check_{p}_S2_{b}")) for b in BANDS} for p in ("icor", "smac")}
    return NS(toa=toa, geo=geo, mask=mask, ref=ref,
              aot=float(_read("ref_check_icor_S2_AOT").mean()) / 100.0,        # debug band: value * 100
              cwv=(_to20(_read("ref_check_icor_S2_CWV")) / 100.0).astype(np.float32),
              z_km=float(_read("ref_check_icor_S2_DEM").mean()) / 100.0)


@pytest.fixture(scope="module")
def model():
    _data_or_skip()
    from sen2cor3.rt import tables
    if not tables.tables_available():
        pytest.skip("shipped 6S tables not built (sen2cor3/rt/data/manifest.json missing)")
    from sen2cor3.ac.atmos import AtmosphereModel
    return AtmosphereModel("S2B", "rural", "summer", 331.0)


def _run(scene, model, bands, l2a, adjacency):
    from sen2cor3.ac.correct import AcOptions, correct_resolution
    toa = {b: scene.toa[b].copy() for b in bands}
    return correct_resolution(toa, np.zeros(scene.mask.shape, bool), None, scene.geo, scene.z_km, l2a, None, "S2B",
                              20.0, cams={"aot550": scene.aot, "wv": scene.cwv}, model=model,
                              options=AcOptions(adjacency=adjacency))


def _stats(a: dict, b: dict, mask: np.ndarray, bands: tuple[str, ...] | None = None) -> dict:
    """Per band (mean, RMSE, n) of a - b over ``mask`` (also used by the Landsat real-data test)."""
    out = {}
    for band in bands or BANDS:
        d = (np.asarray(a[band], np.float64) - b[band])[mask & np.isfinite(a[band])]
        out[band] = (float(d.mean()), float(np.sqrt(np.mean(d * d))), int(d.size))
    return out


def _table(title: str, rows: dict) -> str:
    lines = [title, f"{'band':5} {'vs':6} {'mean':>8} {'rmse':>8} {'n':>7}"]
    for who, st in rows.items():
        for band, (m, r, n) in st.items():
            lines.append(f"{band:5} {who:6} {m:+8.4f} {r:8.4f} {n:7d}")
    return "\n".join(lines)


def _check(st: dict, who: str):
    for band, (m, r, n) in st.items():
        assert n > 50000, (band, who, n)
        assert abs(m) <= MAX_MEAN and r <= MAX_RMSE, f"{band} vs {who}: mean {m:+.4f} rmse {r:.4f}"


def test_toa_convention(scene):
    """N02.07: DN / 1e4, no offset. The median blue TOA must exceed a clear-sky Rayleigh-only path (~0.07)."""
    med = float(np.median(scene.toa["B02"][scene.mask]))
    assert 0.08 < med < 0.15
    assert 0.13 < scene.aot < 0.15 and 0.03 < scene.z_km < 0.05
    assert scene.mask.mean() > 0.5


def test_references_agree_with_each_other(scene):
    """iCOR vs SMAC (decoding check and the scale of processor-to-processor differences)."""
    st = _stats(scene.ref["smac"], scene.ref["icor"], scene.mask)
    print("\n" + _table("SMAC - iCOR (20 m, clear-land mask)", {"icor": st}))
    _check(st, "smac-icor")


@pytest.mark.parametrize("adjacency", [False, True], ids=["no_adjacency", "adjacency"])
def test_inversion_with_reference_aot_wv(scene, model, adjacency):
    """(b): the reference AOT/CWV as CAMS inputs (WV_Correction 0): only the inversion differs."""
    res = _run(scene, model, BANDS, NS(flags=NS(wv_correction=0)), adjacency)
    md = res.metadata
    assert md["AOT_RETRIEVAL_METHOD"] == "CAMS" and abs(md["GRANULE_MEAN_AOT"] - scene.aot) < 1e-3
    assert md["WV_RETRIEVAL_METHOD"] == "CAMS"
    assert abs(md["GRANULE_MEAN_WV"] - float(scene.cwv.mean())) < 0.02
    rows = {p: _stats(res.boa, scene.ref[p], scene.mask) for p in ("icor", "smac")}
    print("\n" + _table(f"ours - reference, same AOT/WV, adjacency={adjacency}", rows))
    for p, st in rows.items():
        _check(st, p)


def test_own_retrieval_apda_wv(scene, model):
    """(a): our APDA WV (B8A/B09); AOT: no B12 -> no DDV -> the CAMS value (0.14), not the visibility default."""
    res = _run(scene, model, ALL, None, False)
    md = res.metadata
    assert md["AOT_RETRIEVAL_METHOD"] == "CAMS" and abs(md["GRANULE_MEAN_AOT"] - scene.aot) < 1e-3
    assert md["WV_RETRIEVAL_METHOD"] == "SEN2COR_APDA"
    m = scene.mask
    ours, icor = float(np.mean(res.wv[m])), float(np.mean(scene.cwv[m]))
    ratio = ours / icor
    rows = {p: _stats(res.boa, scene.ref[p], m) for p in ("icor", "smac")}
    print("\n" + _table("ours (APDA WV, CAMS AOT) - reference", rows)
          + f"\nWV over mask: ours {ours:.3f} cm, iCOR {icor:.3f} cm, ratio {ratio:.2f}")
    for p, st in rows.items():
        _check(st, p)
    # see the module docstring: the B09 absorption models differ (ratio ~1.9); only plausibility is asserted
    assert 0.1 < ours < 1.5 and 0.1 < icor < 1.5
    assert 0.4 < ratio < 2.5, ratio


@pytest.mark.parametrize("vis_update_mode,cams_aot,method",
                         [(1, 0.3, "CAMS"), (0, 0.3, "DEFAULT"), (1, None, "DEFAULT")])
def test_cams_aot_fallback_without_ddv_bands(vis_update_mode, cams_aot, method):
    """No B12 (no DDV possible): a CAMS AOT is used before the visibility default (DDV -> CAMS -> DEFAULT), as
    in retrieve_aot: only with VIS_Update_Mode > 0. Synthetic atmosphere, no shared data needed."""
    from sen2cor3.ac import synthetic
    from sen2cor3.ac.atmos import derived, normalise
    from sen2cor3.ac.correct import AcOptions, Geometry, correct_resolution
    from sen2cor3.ac.surface import forward
    rng = np.random.default_rng(3)
    n, truth = 60, 0.3
    surf = {"B02": 0.06, "B04": 0.08, "B8A": 0.30}
    toa = {b: forward(np.full((n, n), v, np.float32) * rng.uniform(0.8, 1.2, (n, n)).astype(np.float32),
                      derived(normalise(synthetic.atmosphere("S2A", b, "rural", "summer", 331, 1.5, truth, 0.1,
                                                             35.0, 5.0, 120.0)))) for b, v in surf.items()}
    l2a = NS(flags=NS(vis_update_mode=vis_update_mode))
    res = correct_resolution(toa, np.zeros((n, n), bool), None, Geometry(35.0, 0.0, 5.0, -120.0), 0.1, l2a, None,
                             "S2A", 20, cams=None if cams_aot is None else {"aot550": cams_aot},
                             model=synthetic.model(), options=AcOptions(adjacency=False))
    md = res.metadata
    assert md["AOT_RETRIEVAL_METHOD"] == method
    if method == "CAMS":
        assert abs(md["GRANULE_MEAN_AOT"] - cams_aot) < 1e-4
        assert np.allclose(res.aot[~res.nodata], cams_aot, atol=1e-4)
    else:                                   # the GIPP visibility (40 km) at the scene elevation
        from sen2cor3.ac.atmos import koschmieder_aot
        assert abs(md["GRANULE_MEAN_AOT"] - float(koschmieder_aot(40.0, 0.1))) < 1e-3
