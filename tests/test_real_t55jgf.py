"""End to end on a real L1C: S2B T55JGF 2018-06-17 (N02.06, 41 % cumulus), issue 17.

The SAFE is built once per session from ../shared/data by ``real_t55jgf.build_safe`` (see its docstring: real
MTD_TL, MTD_DS, QI, AUX_ECMWFT; MTD_MSIL1C and manifest from a real N02.09 product with this product's values;
bands decimated x25 in the source, sampled back to their native grids). Three runs of ``L2A_Process.py``:
``--resolution 60`` (native 60 m), ``--resolution 20`` (20 m, and the 60 m set derived from it as Sen2Cor does)
and ``--resolution 60 --sc_classic --tif``. Whole module: about 4 min on 2 cores (build ~40 s, 60 m runs
~35 s each, the 20 m run ~2 min); skipped without ../shared.

Tolerances (measured values in brackets, 60 m native vs 60 m derived from the 20 m run):

* classes: the two 60 m SCLs are not the same computation: the native run classifies 60 m block means, the
  derived one takes the 3x3 median of 20 m class codes; on a cumulus field where most valid pixels lie within
  250 m of a cloud edge and the 20 m bands are 500 m blocks, mixed pixels flip. Required: >= 80 % of the valid
  pixels in the same class [87 %; 84 % with the shadow windows in pixels], cloud (SCL 8-10) IoU >= 0.80 [0.86],
  dark features + cloud shadows within 2.5 points of the valid pixels [8.3 vs 6.7], cloud shadow alone within
  1.5 points [1.2 vs 2.2; 7.5 vs 2.2 with the windows in pixels].
* AOT: both maps come from the same DDV retrieval smoothed over >= 1 km: mean difference <= 0.005 [0.001],
  95 % of pixels within 0.02 [0.012].
* WVP: B09 is a 1.5 km block in this product and B8A a 500 m one, so per-pixel columns scatter (95th
  percentile of |difference| 0.5 cm); the maps must agree in the mean within 0.1 cm [0.034] and in the median
  absolute difference within 0.1 cm [0.033].
"""
from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace as NS

import numpy as np
import pytest

import real_t55jgf as R

ROOT = Path(__file__).resolve().parents[1]
_REASON = R.missing_reason()
pytestmark = pytest.mark.skipif(_REASON is not None, reason=_REASON or "")

#: SCL codes.
DARK, SHADOW = 2, 3
CLOUDS = (8, 9, 10)


def _l2a_process(*args) -> subprocess.CompletedProcess:
    out = Path(args[args.index("--output_dir") + 1])
    env = dict(os.environ, SEN2COR_HOME=str(out.parent / f".home_{out.name}"))
    return subprocess.run([sys.executable, str(ROOT / "L2A_Process.py"), *map(str, args)], capture_output=True,
                          text=True, env=env)


@pytest.fixture(scope="session")
def l1c(t55jgf_l1c) -> Path:
    return t55jgf_l1c


def _run(l1c: Path, tmp_path_factory, name: str, *flags: str) -> NS:
    out = tmp_path_factory.mktemp(name)
    res = _l2a_process(l1c, "--output_dir", out, *flags)
    products = sorted(out.glob("S2B_MSIL2A_*.SAFE"))
    return NS(proc=res, out=out, product=products[0] if products else None)


@pytest.fixture(scope="session")
def run60(l1c, tmp_path_factory) -> NS:
    return _run(l1c, tmp_path_factory, "t55jgf_r60", "--resolution", "60")


@pytest.fixture(scope="session")
def run20(l1c, tmp_path_factory) -> NS:
    return _run(l1c, tmp_path_factory, "t55jgf_r20", "--resolution", "20")


@pytest.fixture(scope="session")
def run60_classic_tif(l1c, tmp_path_factory) -> NS:
    return _run(l1c, tmp_path_factory, "t55jgf_r60_classic_tif", "--resolution", "60", "--sc_classic", "--tif")


def _ok(run: NS) -> Path:
    assert run.proc.returncode == 0, run.proc.stdout[-2000:] + run.proc.stderr[-2000:]
    return run.product


# ------------------------------------------------------------------------------------------------ the fixture
def test_fixture_is_the_real_product(l1c):
    """The SAFE opens as the real product: names, baseline, radiometry of the real MTD_DS, native grids, and the
    decimated pixels where they belong (nearest at pixel centres, 0 outside the data footprint)."""
    from osgeo import gdal
    from sen2cor3.products.l1c import open_l1c
    p = open_l1c(l1c)                                          # also checks every image size against MTD_TL
    assert (p.mission_id, p.tile_id, p.processing_baseline, p.relative_orbit) == ("S2B", "55JGF", "02.06", 73)
    assert p.granule_name == "L1C_T55JGF_A006677_20180617T001107" and p.absolute_orbit == 6677
    assert p.datastrip_name == "DS_EPAE_20180617T013729_S20180617T001107"
    assert all(b.radio_add_offset == 0.0 for b in p.bands.values())          # before 04.00: no offset
    assert abs(p.u - 0.969545500936321) < 1e-12 and p.bands["B02"].solar_irradiance == 1959.77   # MTD_DS (S2B)
    assert set(p.aux_paths) == {"AUX_ECMWFT"} and p.qi_mask_paths["MSK_CLOUDS_B00"].suffix == ".gml"
    f = R.facts()
    for band, res in (("B02", 10), ("B8A", 20), ("B09", 60)):
        ds = gdal.Open(str(p.image_paths[band]))
        assert (ds.RasterYSize, ds.RasterXSize) == (f["size"][res],) * 2
        src = gdal.Open(str(R.SOURCE / f"{band}.jp2"))
        gt = src.GetGeoTransform()
        dec = src.ReadAsArray()
        row = f["size"][res] // 2                               # a row through the data and the no-data wedge
        line = ds.ReadAsArray(0, row, f["size"][res], 1)[0]
        y = f["geo"][res][1] - (row + 0.5) * res
        x = f["geo"][res][0] + (np.arange(f["size"][res]) + 0.5) * res
        expect = dec[int((y - gt[3]) / gt[5]), np.minimum(((x - gt[0]) / gt[1]).astype(int), dec.shape[1] - 1)]
        inside = R.footprint_mask(f, res)[row]
        assert inside.any() and (~inside).any()
        np.testing.assert_array_equal(line[inside], expect[inside])
        assert (line[~inside] == 0).all() and (expect[~inside] > 0).any()     # the source's ringing is cut


def test_image_size_mismatch_is_one_line_naming_the_file(l1c, tmp_path):
    """Item 1 of the issue on the real product: a 10 m band written at 1830 px fails at open, one line."""
    from sen2cor3.io.writers import write_raster
    safe = tmp_path / l1c.name
    for p in l1c.rglob("*"):                                   # a copy of links: the big images are not copied
        dst = safe / p.relative_to(l1c)
        if p.is_dir():
            dst.mkdir(parents=True, exist_ok=True)
        else:
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.symlink_to(p)
    b02 = next(safe.glob("GRANULE/*/IMG_DATA/*_B02.jp2"))
    b02.unlink()
    f = R.facts()
    write_raster(b02.with_suffix(""), np.full((1830, 1830), 1000, np.uint16),
                 geotransform=(f["geo"][60][0], 60.0, 0.0, f["geo"][60][1], 0.0, -60.0), epsg=f["epsg"])
    out = tmp_path / "out"
    out.mkdir()
    res = _l2a_process(safe, "--output_dir", out, "--resolution", "60")
    assert res.returncode == 1
    errors = [ln for ln in (res.stdout + res.stderr).splitlines() if "B02.jp2" in ln]
    assert len(errors) == 1 and "1830x1830" in errors[0] and "10980x10980" in errors[0], res.stderr[-1500:]
    assert "Traceback" not in res.stderr and "internal error" not in res.stderr
    assert not any(out.iterdir())


# ------------------------------------------------------------------------------------------------ runs
@pytest.mark.parametrize("name, res, fmt", [("run60", 60, ".jp2"), ("run20", 20, ".jp2"), ("run20", 60, ".jp2"),
                                            ("run60_classic_tif", 60, ".tif")])
def test_runs_exit_0_with_every_layer(request, name, res, fmt):
    run = request.getfixturevalue(name)
    product = _ok(run)
    assert [p.name for p in run.out.iterdir()] == [product.name]           # the product and nothing else
    img = next(product.glob(f"GRANULE/*/IMG_DATA/R{res}m"))
    names = {p.name.rsplit("_", 2)[-2] for p in img.iterdir() if p.suffix == fmt}
    assert {"SCL", "AOT", "WVP", "TCI", "B02", "B03", "B04", "B05", "B06", "B07", "B8A", "B11", "B12"} <= names
    for layer in ("SCL", "AOT", "WVP", "B02", "B12"):
        a = R.read_image(product, layer, res)
        assert a.shape == (R.facts()["size"][res],) * 2 and (a > 0).mean() > 0.75, layer     # 82.7 % has data
    q = R.quality(product)
    assert q["AC_ENABLED"] == "TRUE" and q["WV_RETRIEVAL_METHOD"] == "SEN2COR_APDA"


def test_figures(run60, run20, l1c):
    """The issue's figures (``pytest -s`` prints them); loose guards only: the L1C cloud mask is itself crude
    (250 m blocks of aliased cumulus). Measured: cloud recall 69 % (60 m) / 77 % (20 m), clear recall 86 / 85 %,
    IoU 61 / 67 %."""
    for run, res in ((run60, 60), (run20, 20)):
        m = R.measure(_ok(run), l1c, res)
        print(f"\n{res} m: classes (% valid) " + ", ".join(f"{k} {v:.2f}" for k, v in m["classes"].items()))
        print(f"  L1C cloud {m['l1c_cloud_pct']:.1f} %: cloud recall {m['cloud_recall']:.1f} %, clear recall "
              f"{m['clear_recall']:.1f} %, IoU {m['cloud_iou']:.1f} %")
        print(f"  AOT {m['aot']}, WV {m['wv']}, ECMWF TCWV {m['ecmwf_tcwv']}")
        print(f"  {m['quality']}\n  negative BOA % {m['negative_boa_pct']}")
        assert m["cloud_recall"] > 60.0 and m["clear_recall"] > 75.0 and m["cloud_iou"] > 50.0
        assert 0.0 < m["negative_boa_pct"]["B04"] < 2.0 and m["negative_boa_pct"]["B12"] < 1.0


# ------------------------------------------------------------------------------------------------ 60 m vs 20 m
@pytest.fixture(scope="module")
def pair(run60, run20) -> NS:
    p60, p20 = _ok(run60), _ok(run20)
    s60, s20 = R.read_image(p60, "SCL", 60), R.read_image(p20, "SCL", 60)
    valid = (s60 > 0) & (s20 > 0)
    return NS(p60=p60, p20=p20, s60=s60, s20=s20, valid=valid, n=int(valid.sum()))


def _pct(mask, pair) -> float:
    return 100.0 * float((mask & pair.valid).sum()) / pair.n


def test_60m_classes_from_20m_agree_with_native_60m(pair):
    s60, s20, v = pair.s60, pair.s20, pair.valid
    assert float(np.mean((s60 > 0) ^ (s20 > 0))) < 0.005            # the same no-data
    agree = float((s60 == s20)[v].mean())
    c60, c20 = np.isin(s60, CLOUDS) & v, np.isin(s20, CLOUDS) & v
    iou = float((c60 & c20).sum() / (c60 | c20).sum())
    ds60, ds20 = _pct(np.isin(s60, (DARK, SHADOW)), pair), _pct(np.isin(s20, (DARK, SHADOW)), pair)
    assert agree >= 0.80, agree
    assert iou >= 0.80, iou
    assert abs(ds60 - ds20) <= 2.5, (ds60, ds20)


def test_cloud_shadow_fraction_does_not_depend_on_resolution(pair):
    """Cloud shadow on the same scene within 1.5 points of the valid pixels at 60 m and 20 m (before, windows in
    pixels: 7.5 % vs 2.2 %, shadow IoU 0.28; in metres: 1.2 % vs 2.2 %, IoU 0.53)."""
    sh60, sh20 = _pct(pair.s60 == SHADOW, pair), _pct(pair.s20 == SHADOW, pair)
    assert abs(sh60 - sh20) <= 1.5, (sh60, sh20)


@pytest.mark.parametrize("layer, mean_tol, spread_tol", [("AOT", 0.005, 0.02), ("WVP", 0.1, 0.1)])
def test_60m_aot_wvp_from_20m_agree_with_native_60m(pair, layer, mean_tol, spread_tol):
    a = R.read_image(pair.p60, layer, 60)[pair.valid] / 1000.0
    b = R.read_image(pair.p20, layer, 60)[pair.valid] / 1000.0
    d = np.abs(a - b)
    assert abs(float(a.mean() - b.mean())) <= mean_tol
    spread = float(np.percentile(d, 95) if layer == "AOT" else np.median(d))
    assert spread <= spread_tol, spread


# ------------------------------------------------------------------------------------------------ water vapour
@pytest.mark.parametrize("name, res", [("run60", 60), ("run20", 20)])
def test_no_wvp_at_a_table_bound(request, name, res):
    """A retrieval the tables cannot explain is a failure filled with the land mean, not the floor/cap column
    (before: 6.0 % / 1.0 % of the valid 60 m pixels at the floor 0.096 cm / cap 5.757 cm, every thin-cirrus pixel
    at the floor). Successful retrievals just inside a bound remain possible: <= 0.1 % allowed [0.04 %]."""
    product = _ok(request.getfixturevalue(name))
    scl = R.read_image(product, "SCL", res)
    wv = R.read_image(product, "WVP", res).astype(np.float64) / 1000.0
    q = R.quality(product)
    lo, hi = R.wv_table_bounds_cm(float(q["DEM_MEAN_ALTITUDE_KM"]))
    valid = scl > 0
    w = wv[valid]
    assert float(np.mean(np.abs(w - lo) < 0.0015)) <= 0.001
    assert float(np.mean(np.abs(w - hi) < 0.0015)) <= 0.001
    cirrus = wv[scl == 10]
    assert cirrus.size == 0 or float(np.mean(np.abs(cirrus - lo) < 0.0015)) < 0.05


@pytest.fixture(scope="module")
def ecmwf60(l1c) -> float:
    tcwv = R.ecmwf_tcwv(l1c, 60)
    assert 0.6 < float(np.nanmin(tcwv)) and float(np.nanmax(tcwv)) < 1.0      # 0.68-0.91 cm over the tile
    return float(np.nanmean(tcwv))


@pytest.mark.parametrize("name", ["run60", "run20"])
def test_clear_land_water_vapour_matches_ecmwf(request, name, ecmwf60):
    """APDA over clear land 2 km or more from clouds and shadows (median) within 30 % of the L1C's own
    AUX_ECMWFT TCWV mean over the tile [0.90 / 0.88 cm vs 0.80 cm]."""
    m = R.measure(_ok(request.getfixturevalue(name)), request.getfixturevalue("l1c"), 60)
    assert abs(m["wv"]["clear_land_far_median"] / ecmwf60 - 1.0) <= 0.30, (m["wv"], ecmwf60)


def test_decimated_b09_is_not_a_column_measurement(run60):
    """Why GRANULE_MEAN_WV misses (the xfail below): on the 1.5 km B09 blocks holding no cloud, the source's B09
    against its own B8A averaged over the same block spreads over nearly the tables' whole ratio range (0.72 at
    0.1 cm to 0.10 at 6 cm), p10/median/p90 [0.20/0.38/0.74], where AUX_ECMWFT's column varies 0.68-0.91 cm over
    the tile (a ratio change of a few %). B09 is a 73 px lossy image (4.6 kB): not a resolution mismatch, the
    matched-resolution ratio scatters."""
    r = R.b09_b8a_block_ratios(_ok(run60))
    assert r.size > 300
    p10, p90 = np.percentile(r, [10, 90])
    assert p90 / p10 > 2.0, (p10, p90)


@pytest.mark.xfail(strict=True, reason=(
    "the data (test_decimated_b09_is_not_a_column_measurement): GRANULE_MEAN_WV 1.267 cm (60 m) / 1.265 cm (20 m) "
    "vs AUX_ECMWFT 0.806 cm (+57 %), computed as Sen2Cor 3 does (land 4/5/11 retrievals, the land mean elsewhere, "
    "3x3 median, mean of WVP > 0). The successful land retrievals have median 0.86 cm (+7 %) but mean 1.27 cm: the "
    "decimated B09's block ratios scatter over the tables' range and the convex ratio -> column inversion turns "
    "that into an upper tail (land p90 2.8 cm). Not clouds alone (land in cloud-free B09 blocks: mean 1.15, median "
    "0.87), not the 1.5 km / 500 m mismatch (B8A averaged over B09's blocks: mean 1.13, cloud-free blocks 1.06)"))
@pytest.mark.parametrize("name", ["run60", "run20"])
def test_granule_mean_wv_within_30_percent_of_ecmwf(request, name, ecmwf60):
    q = R.quality(_ok(request.getfixturevalue(name)))
    assert abs(float(q["GRANULE_MEAN_WV"]) / ecmwf60 - 1.0) <= 0.30, (q["GRANULE_MEAN_WV"], ecmwf60)


# ------------------------------------------------------------------------------------------------ aerosol
@pytest.mark.parametrize("name, res", [("run60", 60), ("run20", 20), ("run60_classic_tif", 60)])
def test_visibility_within_limits_and_consistent_with_the_aot(request, name, res):
    """FINAL_VISIBILITY_KM and VISIBILITY_FROM_DDV_KM in Sen2Cor's 5-120 km; FINAL_VISIBILITY_KM is the
    visibility of GRANULE_MEAN_AOT (before: 120 km reported with a mean AOT of 0.0807, i.e. 114.8 km; earlier
    205-240 km); the AOT raster and its mean at or above the AOT of 120 km (0.078 at 0.1 km)."""
    from sen2cor3.ac.atmos import koschmieder_aot
    product = _ok(request.getfixturevalue(name))
    q = R.quality(product)
    z = float(q["DEM_MEAN_ALTITUDE_KM"])
    vis, ddv, mean_aot = (float(q[k]) for k in ("FINAL_VISIBILITY_KM", "VISIBILITY_FROM_DDV_KM",
                                                "GRANULE_MEAN_AOT"))
    assert 5.0 <= vis <= 120.0 and 5.0 <= ddv <= 120.0
    assert math.isclose(float(koschmieder_aot(vis, z)), mean_aot, abs_tol=2e-4), (vis, mean_aot)
    aot_120 = float(koschmieder_aot(120.0, z))
    scl = R.read_image(product, "SCL", res)
    aot = R.read_image(product, "AOT", res)[scl > 1] / 1000.0
    assert mean_aot >= aot_120 - 1e-4 and float(aot.min()) >= round(aot_120, 3) - 0.001
    assert abs(float(aot.mean()) - mean_aot) < 0.005


def test_classic_tif_run_writes_geotiff(run60_classic_tif):
    product = _ok(run60_classic_tif)
    assert not list(product.glob("GRANULE/*/IMG_DATA/R60m/*.jp2"))
    scl = R.read_image(product, "SCL", 60)
    assert set(np.unique(scl)) <= set(range(12)) and np.isin(scl, CLOUDS).mean() > 0.3

