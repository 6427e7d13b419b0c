"""The AC's GIPP values (``sen2cor3.ac.settings``): defaults = the shipped GIPPs, user values get through."""
from __future__ import annotations

import dataclasses
from pathlib import Path
from types import SimpleNamespace as NS

import numpy as np
import pytest
from lxml import etree

from sen2cor3.ac import synthetic
from sen2cor3.ac.aot import DdvParams
from sen2cor3.ac.correct import AcOptions, Geometry, choose_luts, correct_resolution, ddv_params
from sen2cor3.ac.settings import DEFAULTS, AcSettings, ac_settings
from sen2cor3.config import CFG_DIR, load_config

FIELDS = dataclasses.fields(AcSettings)


def _config_value(config, f: dataclasses.Field):
    """The field's value in the typed configuration, found by its documented GIPP element."""
    m = f.metadata
    root = config.l2a.atmospheric_correction if m["source"] == "l2a" else config.ac
    return m["convert"](getattr(getattr(root, m["section"]), m["name"]))


def _xml_value(f: dataclasses.Field):
    """The field's value read straight from the shipped XML file named in its ``gipp`` metadata."""
    file, element = f.metadata["gipp"].split(" ", 1)
    text = etree.parse(str(CFG_DIR / file)).getroot().findtext(element)
    assert text is not None, f"{element} not in {file}"
    text = text.strip()
    if f.type in ("bool", bool):
        return text.upper() == "TRUE"
    return f.metadata["convert"](text if f.type in ("str", str) else float(text))


def _edited(tmp_path: Path, name: str, old: str, new: str) -> Path:
    text = (CFG_DIR / name).read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {name}"
    out = tmp_path / name
    out.write_text(text.replace(old, new, 1), encoding="utf-8")
    return out


def test_defaults_are_the_shipped_gipps():
    config = load_config()
    s = ac_settings(config.l2a.atmospheric_correction, config.ac)
    assert s == DEFAULTS == AcSettings()
    for f in FIELDS:
        d = getattr(DEFAULTS, f.name)
        assert _config_value(config, f) == d, f.name          # through load_config()
        assert _xml_value(f) == d, f.name                     # and in the XML itself
        assert type(getattr(s, f.name)) is type(d), f.name


def test_every_field_names_its_gipp_element():
    for f in FIELDS:
        assert f.metadata["gipp"].startswith(("L2A_GIPP.xml Atmospheric_Correction/", "L2A_CAL_AC_GIPP.xml ")), f.name
    assert len({f.metadata["gipp"] for f in FIELDS}) == len(FIELDS)


def test_none_and_partial_objects_give_the_defaults():
    assert ac_settings(None, None) == DEFAULTS
    assert ac_settings(NS(), NS()) == DEFAULTS
    s = ac_settings(NS(flags=NS(wv_correction=0), calibration=NS(visibility=23)),
                    NS(acl_prio_2=NS(ac_topo_corr_cutoff=1.2)))
    changed = {f.name for f in FIELDS if getattr(s, f.name) != getattr(DEFAULTS, f.name)}
    assert changed == {"wv_correction", "visibility_km", "topo_corr_cutoff"}
    assert s.visibility_km == 23.0 and isinstance(s.visibility_km, float) and s.topo_corr_cutoff == 1.2
    assert ac_settings(None, NS(ac_slope_th=9)).slope_th_deg == 9.0       # a flat stand-in of the AC GIPP
    assert ac_settings(s, NS(acl_prio_2=NS(ac_topo_corr_cutoff=9.0))) is s   # an AcSettings passes through
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.adj_km = 2.0                                                     # type: ignore[misc]
    assert ddv_params(None) == DdvParams() == ddv_params(DEFAULTS)
    assert s.wv_iter_start_cm("summer") == 1.0 and s.wv_iter_start_cm("winter") == 0.4


def test_user_gipp_values_reach_the_settings(tmp_path):
    l2a = _edited(tmp_path, "L2A_GIPP.xml", "<Visibility>40.0</Visibility>", "<Visibility>23.5</Visibility>")
    ac = _edited(tmp_path, "L2A_CAL_AC_GIPP.xml", "<AC_Min_Ddv_Area>2.0</AC_Min_Ddv_Area>",
                 "<AC_Min_Ddv_Area>4.5</AC_Min_Ddv_Area>")
    text = ac.read_text(encoding="utf-8").replace("<AC_Wv_Iter_Start_Summer>1.0<", "<AC_Wv_Iter_Start_Summer>1.7<")
    ac.write_text(text.replace("<Rho_Retrieval_Step2>true<", "<Rho_Retrieval_Step2>FALSE<"), encoding="utf-8")
    config = load_config(gip_l2a=str(l2a), gip_ac=str(ac))
    s = ac_settings(config.l2a.atmospheric_correction, config.ac)
    assert s == dataclasses.replace(DEFAULTS, visibility_km=23.5, min_ddv_area_pct=4.5, wv_iter_start_summer_cm=1.7,
                                    rho_retrieval_step2=False)
    assert ddv_params(config.ac).min_ddv_area == 4.5
    # ... and the correction uses them (start visibility, no adjacency step, the start WV without B09)
    n = 24
    toa = {b: np.full((n, n), v, np.float32) for b, v in (("B02", 0.08), ("B04", 0.06), ("B8A", 0.3))}
    r = correct_resolution(toa, np.zeros((n, n), bool), None, Geometry(35.0, 0.0, 5.0, -120.0), 0.1,
                           config.l2a.atmospheric_correction, config.ac, "S2A", 20, model=synthetic.model(),
                           options=AcOptions(work_res_m=20.0, cell_m=240.0))
    assert r.metadata["START_VISIBILITY_KM"] == 23.5
    assert r.metadata["ADJACENCY_CORRECTION"] is False
    assert r.metadata["WV_RETRIEVAL_METHOD"] == "DEFAULT" and r.metadata["GRANULE_MEAN_WV"] == pytest.approx(1.7)


def test_look_up_tables_settings():
    config = load_config()
    assert choose_luts(config.l2a.atmospheric_correction.look_up_tables, 7, 48.0, None) == ("rural", "summer", 331.0)
    assert choose_luts(DEFAULTS, 1, 48.0, None) == ("rural", "summer", 331.0)
    s = ac_settings(NS(look_up_tables=NS(aerosol_type="maritime", mid_latitude="auto", ozone_content=0)))
    assert (s.aerosol_type, s.mid_latitude, s.ozone_content_du) == ("MARITIME", "AUTO", 0.0)
    assert choose_luts(s, 1, 48.0, 372.0) == ("maritime", "winter", 377.0)
