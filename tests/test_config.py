"""GIPP reading: our defaults, every real Sen2Cor GIPP layout (2.8 .. 3), overlays and refusals."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from lxml import etree

from sen2cor3.config import (
    CFG_DIR,
    GIPP_FILES,
    Config,
    GippError,
    load_config,
    load_gipp,
    resolve_gipp_path,
    with_overrides,
)

SHARED = Path(__file__).resolve().parents[2] / "shared"
DATA = SHARED / "data"
ROOT_TO_KIND = {kind.root_tag: key for key, kind in GIPP_FILES.items()}
ARG = {"l2a": "gip_l2a", "sc": "gip_sc", "ac": "gip_ac", "pb": "gip_pb"}


def _reference_gipps() -> list:
    """Every real GIPP file in the shared data, with its kind taken from its root element."""
    if not DATA.is_dir():
        return [pytest.param(None, None, marks=pytest.mark.skip(reason=f"shared data not found at {DATA}"))]
    candidates = [
        *sorted((DATA / "gipp_reference").glob("*/*.xml")),
        *sorted((DATA / "sen2cor-gipp-samples-sen2like").glob("*.xml")),
        *sorted(DATA.glob("real_safe_metadata/*/rep_info/*GIPP*.xml")),
    ]
    params = []
    for path in candidates:
        kind = ROOT_TO_KIND.get(etree.parse(str(path)).getroot().tag)
        if kind:
            params.append(pytest.param(path, kind, id=str(path.relative_to(DATA))))
    return params


def _text(path: Path, xpath: str) -> str:
    return etree.parse(str(path)).getroot().findtext(xpath).strip()


def _edited(tmp_path: Path, name: str, old: str, new: str, source: Path | None = None) -> Path:
    """A copy of a default GIPP (or ``source``) with one text replaced."""
    text = (source or CFG_DIR / name).read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {name}"
    out = tmp_path / name
    out.write_text(text.replace(old, new, 1), encoding="utf-8")
    return out


def _error(**kwargs: object) -> str:
    with pytest.raises(GippError) as info:
        load_config(**kwargs)
    message = str(info.value)
    assert "\n" not in message
    return message


# ------------------------------------------------------------------------------------ defaults
def test_defaults_load_with_sen2cor3_values() -> None:
    config = load_config()
    common = config.l2a.common
    assert common.region_of_interest.row0 == "OFF" and not common.region_of_interest.enabled
    assert common.region_of_interest.nrow_win == 1200
    assert common.nr_threads == "AUTO"
    assert common.downsample_20_to_60 is True and common.handle_l1c_qlt_mask is True
    assert [s.psd_version for s in common.psd_scheme][-1] == "15.0"
    assert common.qi_scheme == "L2A_QUALITY"
    assert config.l2a.scene_classification.median_filter == 0
    ac = config.l2a.atmospheric_correction
    assert (ac.look_up_tables.aerosol_type, ac.look_up_tables.mid_latitude) == ("RURAL", "SUMMER")
    assert ac.flags.dem_terrain_correction is False and ac.flags.brdf_lower_bound == pytest.approx(0.22)
    assert ac.calibration.adj_km == 1.0 and ac.calibration.visibility == 40.0
    assert config.sc.thresholds.t1_b04 == pytest.approx(0.06)
    assert config.sc.thresholds.t_cloud_lp == 0.0
    assert config.sc.classificators.as_dict()["SNOW_ICE"] == 11
    assert config.sc.references.esacci_snowcondition_map_dir.endswith("MONTHLY-2000-2012-v2.4")
    assert len(config.ac.sensor.resolution.fwhm) == len(config.ac.sensor.calibration.wavelength) == 13
    assert config.ac.flags.scaling_disabler is True
    assert isinstance(config.ac.acl_prio_2.ac_max_nr_topo_iter, int)
    assert (config.pb.idp_sc_name, config.pb.baseline_version) == ("Sen2Cor", "99.33")
    assert config.paths.l2a == (CFG_DIR / "L2A_GIPP.xml").resolve()


def test_every_default_file_fits_its_schema() -> None:
    for key in GIPP_FILES:
        assert load_gipp(key) is not None


def test_config_is_immutable() -> None:
    config = load_config()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.l2a.common.log_level = "DEBUG"  # type: ignore[misc]


def test_field_names_are_lowercased_element_names() -> None:
    """Sections without a path in their metadata map each field to the element of the same name."""
    root = etree.parse(str(CFG_DIR / "L2A_CAL_SC_GIPP.xml")).getroot()
    tags = {el.tag.lower() for el in root.iter() if isinstance(el.tag, str)}
    for f in dataclasses.fields(load_config().sc.thresholds):
        assert f.name in tags


# --------------------------------------------------------------------------- real reference files
@pytest.mark.parametrize(("path", "kind"), _reference_gipps())
def test_reference_gipp_is_accepted(path: Path, kind: str) -> None:
    config = load_config(**{ARG[kind]: str(path)})
    assert getattr(config.paths, kind) == path.resolve()
    if kind == "l2a":
        ac = config.l2a.atmospheric_correction
        assert ac.look_up_tables.aerosol_type == _text(path, "Atmospheric_Correction/Look_Up_Tables/Aerosol_Type")
        assert ac.look_up_tables.ozone_content == int(
            _text(path, "Atmospheric_Correction/Look_Up_Tables/Ozone_Content")
        )
        assert config.l2a.common.dem_directory == _text(path, "Common_Section/DEM_Directory")
        terrain = _text(path, "Atmospheric_Correction/Flags/DEM_Terrain_Correction")
        assert ac.flags.dem_terrain_correction is (terrain == "TRUE")
        versions = [s.psd_version for s in config.l2a.common.psd_scheme]
        assert "15.0" in versions and versions == sorted(versions, key=lambda v: tuple(map(int, v.split("."))))
    elif kind == "sc":
        assert config.sc.thresholds.t2_ndvi == float(_text(path, "Scene_Classification/Thresholds/T2_NDVI"))
    elif kind == "ac":
        assert config.ac.flags.scaling_limiter is (_text(path, "Flags/Scaling_Limiter").upper() == "TRUE")
    else:
        assert float(config.pb.baseline_version) == float(_text(path, "DATA/Baseline_Version"))
        assert len(config.pb.baseline_version) == 5


def test_sen2like_landsat_roi_and_absent_dem_directory() -> None:
    path = DATA / "gipp_reference" / "sen2cor3_era_sen2like" / "sen2cor_L2A_GIPP_DEM_LS.xml"
    if not path.is_file():
        pytest.skip(f"shared data not found at {path}")
    common = load_config(gip_l2a=str(path)).l2a.common
    assert (common.region_of_interest.row0, common.region_of_interest.col0) == (4, 5)
    assert common.region_of_interest.nrow_win == 4000 and common.region_of_interest.enabled
    assert common.dem_directory == "dem/CopernicusDEM90" and common.uses_dem


def test_old_gipp_takes_defaults_for_what_it_lacks() -> None:
    path = DATA / "gipp_reference" / "v2.8_c-core-labs" / "L2A_GIPP.xml"
    if not path.is_file():
        pytest.skip(f"shared data not found at {path}")
    config = load_config(gip_l2a=str(path))
    defaults = load_config()
    assert config.l2a.atmospheric_correction.look_up_tables.ozone_content == 331  # the 2.8 file's value
    assert config.l2a.common.region_of_interest == defaults.l2a.common.region_of_interest
    assert config.l2a.common.product_doi == defaults.l2a.common.product_doi
    assert config.l2a.common.qi_scheme == "L2A_QUALITY"
    assert {"14.5", "15.0"} <= {s.psd_version for s in config.l2a.common.psd_scheme}


# ---------------------------------------------------------------------------------- user values
def test_user_gipp_overrides_a_value(tmp_path: Path) -> None:
    gipp = _edited(tmp_path, "L2A_GIPP.xml", "<Visibility>40.0</Visibility>", "<Visibility> 23.5 </Visibility>")
    sc = _edited(tmp_path, "L2A_CAL_SC_GIPP.xml", "<T1_B04>0.06</T1_B04>", "<T1_B04>0.07</T1_B04>")
    config = load_config(gip_l2a=str(gipp), gip_sc=str(sc))
    assert config.l2a.atmospheric_correction.calibration.visibility == 23.5
    assert config.sc.thresholds.t1_b04 == pytest.approx(0.07)
    assert config.paths.l2a == gipp.resolve() and config.paths.ac == (CFG_DIR / "L2A_CAL_AC_GIPP.xml").resolve()


def test_user_gipp_may_omit_optional_elements(tmp_path: Path) -> None:
    text = (CFG_DIR / "L2A_GIPP.xml").read_text(encoding="utf-8")
    start, end = text.index("<Region_Of_Interest>"), text.index("</Region_Of_Interest>")
    trimmed = text[:start] + text[end + len("</Region_Of_Interest>") :]
    trimmed = trimmed.replace("<Handle_L1C_QLT_Mask>TRUE</Handle_L1C_QLT_Mask>", "")
    user = tmp_path / "mine.xml"
    user.write_text(trimmed.replace("<Log_Level>INFO<", "<Log_Level>DEBUG<"), encoding="utf-8")
    common = load_config(gip_l2a=str(user)).l2a.common
    assert common.log_level == "DEBUG" and common.region_of_interest.row0 == "OFF"
    assert common.handle_l1c_qlt_mask is True


def test_single_quoted_declaration_and_lower_case_flags(tmp_path: Path) -> None:
    gipp = _edited(
        tmp_path, "L2A_GIPP.xml", '<?xml version="1.0" encoding="UTF-8"?>', "<?xml version='1.0' encoding='UTF-8'?>"
    )
    ac = _edited(tmp_path, "L2A_CAL_AC_GIPP.xml", "<Scaling_Limiter>true<", "<Scaling_Limiter>FALSE<")
    config = load_config(gip_l2a=str(gipp), gip_ac=str(ac))
    assert config.ac.flags.scaling_limiter is False


# ------------------------------------------------------------------------------------- refusals
@pytest.mark.parametrize(
    ("name", "old", "new", "arg", "expected"),
    [
        (
            "L2A_CAL_SC_GIPP.xml",
            "<T1_B02>0.18<",
            "<T1_B02>abc<",
            "gip_sc",
            "L2A_CAL_SC_GIPP.xml: Scene_Classification/Thresholds/T1_B02: 'abc' is not a number",
        ),
        (
            "L2A_GIPP.xml",
            "<WV_Correction>1<",
            "<WV_Correction>x<",
            "gip_l2a",
            "L2A_GIPP.xml: Atmospheric_Correction/Flags/WV_Correction: 'x' is not one of 0,1",
        ),
        (
            "L2A_GIPP.xml",
            "<Aerosol_Type>RURAL<",
            "<Aerosol_Type>URBAN<",
            "gip_l2a",
            "Look_Up_Tables/Aerosol_Type: 'URBAN' is not one of RURAL,MARITIME,AUTO",
        ),
        (
            "L2A_GIPP.xml",
            "<Visibility>40.0<",
            "<Visibility>400<",
            "gip_l2a",
            "Calibration/Visibility: '400' is greater than the maximum value allowed (120)",
        ),
        (
            "L2A_GIPP.xml",
            "<row0>OFF<",
            "<row0>middle<",
            "gip_l2a",
            "Region_Of_Interest/row0: 'middle' is not OFF, AUTO or an integer",
        ),
        (
            "L2A_GIPP.xml",
            "<Cirrus_Correction>FALSE<",
            "<Cirrus_Correction>yes<",
            "gip_l2a",
            "Flags/Cirrus_Correction: 'yes' is not one of TRUE,FALSE,true,false,True,False",
        ),
        ("L2A_CAL_SC_GIPP.xml", "<WATER>6<", "<WATER>7<", "gip_sc", "Classificators/WATER: '7' is not one of 6"),
        (
            "L2A_CAL_AC_GIPP.xml",
            'c1="0.001">0.443<',
            'c1="much">0.443<',
            "gip_ac",
            "L2A_CAL_AC_GIPP.xml: Sensor/Calibration/Band_List/wavelength[1]/@c1: 'much' is not a number",
        ),
        (
            "L2A_PB_GIPP.xml",
            "<Baseline_Version>99.33<",
            "<Baseline_Version>new<",
            "gip_pb",
            "L2A_PB_GIPP.xml: DATA/Baseline_Version: 'new' is not a number",
        ),
        (
            "L2A_GIPP.xml",
            "<Adj_Km>1.000</Adj_Km>",
            "<Adj_Km>1.000</Adj_Km><Extra>1</Extra>",
            "gip_l2a",
            "Calibration/Extra: unexpected element",
        ),
        ("L2A_GIPP.xml", "</Common_Section>", "</Common_Sektion>", "gip_l2a", "L2A_GIPP.xml: malformed XML at line"),
        (
            "L2A_GIPP.xml",
            "<Level-2A_Ground_Image_Processing_Parameter ",
            "<Level-2A_Ground_Image_Processing_Parameter ",
            "gip_sc",
            "root element is 'Level-2A_Ground_Image_Processing_Parameter', expected",
        ),
    ],
    ids=[
        "threshold",
        "wv-enum",
        "aerosol-enum",
        "range",
        "roi",
        "bool",
        "class-code",
        "attribute",
        "baseline",
        "extra",
        "malformed",
        "wrong-root",
    ],
)
def test_invalid_gipp_is_refused(tmp_path: Path, name: str, old: str, new: str, arg: str, expected: str) -> None:
    path = _edited(tmp_path, name, old, new)
    assert expected in _error(**{arg: str(path)})


def test_missing_mandatory_section_is_refused(tmp_path: Path) -> None:
    text = (CFG_DIR / "L2A_GIPP.xml").read_text(encoding="utf-8")
    start, end = text.index("<Calibration>"), text.index("</Calibration>") + len("</Calibration>")
    user = tmp_path / "L2A_GIPP.xml"
    user.write_text(text[:start] + text[end:], encoding="utf-8")
    assert _error(gip_l2a=str(user)) == "L2A_GIPP.xml: Atmospheric_Correction: missing element Calibration"


def test_missing_file_is_refused(tmp_path: Path) -> None:
    assert _error(gip_l2a=str(tmp_path / "nope.xml")).endswith("nope.xml: File does not exist")


# --------------------------------------------------------------------------------- path lookup
def test_resolve_gipp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    default = (CFG_DIR / "L2A_GIPP.xml").resolve()
    assert resolve_gipp_path(None, "L2A_GIPP.xml") == default
    assert resolve_gipp_path("L2A_PB_GIPP.xml", "L2A_GIPP.xml") == (CFG_DIR / "L2A_PB_GIPP.xml").resolve()
    mine = tmp_path / "L2A_PB_GIPP.xml"  # a local file wins over the bare name in cfg/
    mine.write_text("x", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert resolve_gipp_path("L2A_PB_GIPP.xml", "L2A_PB_GIPP.xml") == mine.resolve()
    assert resolve_gipp_path(str(mine), "L2A_PB_GIPP.xml") == mine.resolve()
    with pytest.raises(GippError, match=r"missing\.xml: File does not exist"):
        resolve_gipp_path("missing.xml", "L2A_GIPP.xml")


# ----------------------------------------------------------------------------------- overrides
def test_with_overrides() -> None:
    config = load_config()
    changed = with_overrides(
        config, downsample_20_to_60=False, visibility=30, l2a__atmospheric_correction__flags__cirrus_correction=True
    )
    assert isinstance(changed, Config)
    assert changed.l2a.common.downsample_20_to_60 is False
    assert changed.l2a.atmospheric_correction.calibration.visibility == 30.0
    assert changed.l2a.atmospheric_correction.flags.cirrus_correction is True
    assert config.l2a.common.downsample_20_to_60 is True  # the original is untouched
    with pytest.raises(ValueError, match="ambiguous"):
        with_overrides(config, flags=None)
    with pytest.raises(ValueError, match="no configuration field"):
        with_overrides(config, no_such_thing=1)
    with pytest.raises(TypeError):
        with_overrides(config, visibility="far")


def test_paths_are_also_a_mapping_by_canonical_name() -> None:
    paths = load_config().paths
    assert paths["L2A_CAL_SC_GIPP"] == paths.sc and paths.get("L2A_PB_GIPP") == paths.pb
    assert list(paths) == ["L2A_GIPP", "L2A_CAL_SC_GIPP", "L2A_CAL_AC_GIPP", "L2A_PB_GIPP"]
    assert hash(paths) == hash(load_config().paths)
