"""Writers (JP2 / GTiff / COG / ENVI) and the raster read helpers, on small arrays."""
from __future__ import annotations

import numpy as np
import pytest
from osgeo import gdal

from sen2cor3.io.raster import RasterError, Window, block_windows, open_dataset, read_window
from sen2cor3.io.writers import (FORMATS, cog_problems, extension, image_format, is_valid_cog, jp2_gml,
                                 jp2_tile_size, write_raster)

GT20 = (399960.0, 20.0, 0.0, 5000040.0, 0.0, -20.0)
EPSG = 32632


@pytest.fixture(scope="module")
def band() -> np.ndarray:
    rng = np.random.default_rng(42)
    a = rng.integers(0, 16000, size=(130, 170), dtype=np.uint16)
    a[0, :5] = 0                                  # no-data pixels
    a[1, 0] = 32767
    return a


def _open(path):
    ds = gdal.Open(str(path))
    assert ds is not None, path
    return ds


@pytest.mark.parametrize("fmt", FORMATS)
def test_band_round_trip(tmp_path, band, fmt):
    out = write_raster(tmp_path / "T32TQM_20230101T101010_B02_20m", band, geotransform=GT20, epsg=EPSG,
                       fmt=fmt, nodata=0, band_names=["B02"], threads=1)
    assert out.name == "T32TQM_20230101T101010_B02_20m" + extension(fmt)
    ds = _open(out)
    assert ds.GetDriver().ShortName == {"JP2": "JP2OpenJPEG", "GTiff": "GTiff", "COG": "GTiff",
                                        "ENVI": "ENVI", "LandsatTIF": "GTiff"}[fmt]
    assert (ds.RasterXSize, ds.RasterYSize, ds.RasterCount) == (170, 130, 1)
    assert ds.GetRasterBand(1).DataType == gdal.GDT_UInt16
    assert ds.GetSpatialRef().GetAuthorityCode(None) == str(EPSG)
    assert ds.GetGeoTransform() == pytest.approx(GT20)
    np.testing.assert_array_equal(ds.ReadAsArray(), band)          # lossless
    if fmt != "JP2":
        assert ds.GetRasterBand(1).GetNoDataValue() == 0
    # only the final file(s): no temporary or PAM leftovers
    expected = {out.name} | ({out.with_suffix(".hdr").name} if fmt == "ENVI" else set())
    assert {p.name for p in tmp_path.iterdir()} == expected


def test_jp2_is_georeferenced_like_esa(tmp_path):
    scl = (np.arange(700 * 700) % 12).astype(np.uint8).reshape(700, 700)
    out = write_raster(tmp_path / "SCL_20m", scl, geotransform=GT20, epsg=EPSG, threads=1)
    ds = _open(out)
    assert ds.GetMetadataItem("COMPRESSION_REVERSIBILITY", "IMAGE_STRUCTURE") == "LOSSLESS"
    assert ds.GetRasterBand(1).GetBlockSize() == [640, 640]            # Sen2Cor's 20 m tile
    assert ds.GetRasterBand(1).GetOverviewCount() >= 1                 # codestream resolution levels
    gml = jp2_gml(out)
    assert gml is not None and "urn:ogc:def:crs:EPSG::32632" in gml
    # the GeoJP2 box alone must give the same georeferencing
    gdal.SetConfigOption("GDAL_USE_GEOJP2", "YES")
    gdal.SetConfigOption("GDAL_USE_GMLJP2", "NO")
    try:
        ds2 = _open(out)
        assert ds2.GetSpatialRef().GetAuthorityCode(None) == str(EPSG)
        assert ds2.GetGeoTransform() == pytest.approx(GT20)
    finally:
        gdal.SetConfigOption("GDAL_USE_GEOJP2", None)
        gdal.SetConfigOption("GDAL_USE_GMLJP2", None)


@pytest.mark.parametrize("fmt", FORMATS)
def test_tci_three_bands(tmp_path, fmt):
    tci = np.random.default_rng(1).integers(0, 256, size=(3, 60, 50), dtype=np.uint8)
    out = write_raster(tmp_path / "TCI_20m", tci, geotransform=GT20, epsg=EPSG, fmt=fmt, threads=1)
    ds = _open(out)
    assert ds.RasterCount == 3 and ds.GetRasterBand(1).DataType == gdal.GDT_Byte
    np.testing.assert_array_equal(ds.ReadAsArray(), tci)
    assert [ds.GetRasterBand(i).GetColorInterpretation() for i in (1, 2, 3)] == [
        gdal.GCI_RedBand, gdal.GCI_GreenBand, gdal.GCI_BlueBand]


def test_cog_valid_and_striped_gtiff_not(tmp_path):
    scl = (np.arange(600 * 640) % 12).astype(np.uint8).reshape(600, 640)
    cog = write_raster(tmp_path / "SCL_20m", scl, geotransform=GT20, epsg=EPSG, fmt="COG", categorical=True)
    assert cog_problems(cog) == []
    assert is_valid_cog(cog)
    ds = _open(cog)
    assert ds.GetRasterBand(1).GetOverviewCount() >= 1
    np.testing.assert_array_equal(ds.ReadAsArray(), scl)
    # overviews of a class map hold class values only (MODE, not AVERAGE)
    assert set(np.unique(ds.GetRasterBand(1).GetOverview(0).ReadAsArray())) <= set(range(12))

    striped = tmp_path / "plain.tif"
    out = gdal.GetDriverByName("GTiff").Create(str(striped), 640, 600, 1, gdal.GDT_Byte)
    out.GetRasterBand(1).WriteArray(scl)
    out = None
    assert not is_valid_cog(striped)
    assert any("tiled" in p for p in cog_problems(striped))
    assert not is_valid_cog(write_raster(tmp_path / "x", scl, geotransform=GT20, epsg=EPSG, fmt="GTiff"))
    assert not is_valid_cog(tmp_path / "missing.tif")


def test_envi_rawl_with_hdr_and_gml(tmp_path, band):
    jp2 = write_raster(tmp_path / "ref", band, geotransform=GT20, epsg=EPSG, threads=1)
    out = write_raster(tmp_path / "B02_20m", band, geotransform=GT20, epsg=EPSG, fmt="ENVI",
                       band_names=["B02"], gml=jp2_gml(jp2))
    assert out.suffix == ".rawl"
    hdr = out.with_suffix(".hdr").read_text()
    assert "B02" in hdr and "B02_20m.rawl" in hdr and ".part" not in hdr
    assert out.with_suffix(".gml").read_text().lstrip().startswith("<")
    assert out.stat().st_size == band.nbytes                       # raw, uncompressed


def test_failed_write_leaves_nothing(tmp_path, band):
    final = tmp_path / "B02_20m.jp2"
    final.write_text("previous")
    with pytest.raises(RasterError, match="B02_20m.jp2"):
        write_raster(tmp_path / "B02_20m", band.astype(np.float64), geotransform=GT20, epsg=EPSG)
    assert final.read_text() == "previous"
    assert [p.name for p in tmp_path.iterdir()] == ["B02_20m.jp2"]


def test_bad_inputs(tmp_path, band):
    with pytest.raises(ValueError):
        write_raster(tmp_path / "x", band, geotransform=GT20, epsg=EPSG, fmt="PNG")
    with pytest.raises(ValueError):
        write_raster(tmp_path / "x", band[0], geotransform=GT20, epsg=EPSG)
    with pytest.raises(ValueError):
        write_raster(tmp_path / "x", band, geotransform=GT20, epsg=EPSG, fmt="GTiff", band_names=["a", "b"])
    assert list(tmp_path.iterdir()) == []


def test_bool_mask_and_views(tmp_path, band):
    mask = band > 8000
    out = write_raster(tmp_path / "m", mask, geotransform=GT20, epsg=EPSG, fmt="GTiff")
    np.testing.assert_array_equal(_open(out).ReadAsArray(), mask.astype(np.uint8))
    view = band[::-1, 10:60]                                       # negative stride, non-contiguous
    out = write_raster(tmp_path / "v", view, geotransform=GT20, epsg=EPSG, fmt="ENVI")
    np.testing.assert_array_equal(_open(out).ReadAsArray(), view)


def test_format_rules():
    assert image_format() == "JP2"
    assert image_format(tif=True) == "GTiff"
    assert image_format(raw=True) == "ENVI"
    assert image_format(sc_cog=True) == "JP2"
    assert image_format(sc_cog=True, is_scl=True) == "COG"
    assert image_format(tif=True, sc_cog=True, is_scl=True) == "COG"
    assert image_format(tif=True, is_scl=True) == "GTiff"
    assert [extension(f) for f in FORMATS] == [".jp2", ".tif", ".tif", ".rawl", ".TIF"]
    assert (jp2_tile_size(10), jp2_tile_size(20), jp2_tile_size(60), jp2_tile_size(30)) == (1024, 640, 192, 1024)


def test_read_window_and_errors(tmp_path, band):
    jp2 = write_raster(tmp_path / "B", band, geotransform=GT20, epsg=EPSG, threads=1)
    np.testing.assert_array_equal(read_window(jp2), band)
    np.testing.assert_array_equal(read_window(jp2, window=Window(10, 20, 30, 40)), band[10:40, 20:60])
    assert read_window(jp2, out_shape=(65, 85)).shape == (65, 85)
    small = read_window(jp2, window=Window(0, 0, 130, 170), out_shape=(13, 17), resample="nearest")
    assert small.shape == (13, 17) and small.dtype == np.uint16
    with pytest.raises(RasterError, match="outside"):
        read_window(jp2, window=Window(100, 0, 40, 10))
    with pytest.raises(RasterError, match="band 2"):
        read_window(jp2, band=2)
    with pytest.raises(RasterError, match="missing.jp2"):
        open_dataset(tmp_path / "missing.jp2")
    junk = tmp_path / "junk.jp2"
    junk.write_bytes(b"\x00\x00\x00\x0cjP  \r\n\x87\n" + b"\x00" * 64)
    with pytest.raises(RasterError, match="junk.jp2"):
        read_window(junk)
    truncated = tmp_path / "trunc.jp2"
    truncated.write_bytes(jp2.read_bytes()[: jp2.stat().st_size // 2])
    with pytest.raises(RasterError, match="trunc.jp2"):
        read_window(truncated)


def test_block_windows():
    wins = list(block_windows(5, 7, 3))
    assert wins[0] == Window(0, 0, 3, 3) and wins[-1] == Window(3, 6, 2, 1)
    cover = np.zeros((5, 7), int)
    for w in wins:
        cover[w.row_off:w.row_off + w.nrows, w.col_off:w.col_off + w.ncols] += 1
    assert (cover == 1).all()
    assert list(block_windows(4, 4, (2, 4))) == [Window(0, 0, 2, 4), Window(2, 0, 2, 4)]


def test_landsat_tif_lzw_with_scale_and_offset(tmp_path, band):
    """Landsat L2 images: upper-case .TIF, LZW, band scale/offset (the L1 rescaling) and no data 0."""
    out = write_raster(tmp_path / "LC09_L2TP_192026_20240809_20250407_02_T1_B4", band, geotransform=GT20, epsg=EPSG,
                       fmt="LandsatTIF", nodata=0, scale=2.0e-5, offset=-0.1, threads=1)
    assert out.suffix == ".TIF"
    ds = _open(out)
    b = ds.GetRasterBand(1)
    assert ds.GetMetadata("IMAGE_STRUCTURE").get("COMPRESSION") == "LZW"
    assert b.GetScale() == pytest.approx(2.0e-5) and b.GetOffset() == pytest.approx(-0.1) and b.GetNoDataValue() == 0
    np.testing.assert_array_equal(ds.ReadAsArray(), band)
