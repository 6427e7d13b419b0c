"""Build-time readers of the original spectral responses and solar spectrum (``/work/shared/data``).

Only the table builder uses these (``rt.sixs.load_srf`` falls back to them when the shipped
``rt/data/srf/<sensor>.npz``, the responses resampled to 6S's 2.5 nm grid, are absent).  Sources (public data):
S2A/S2B/S2C MSI: ESA COPE-GSEG-EOPG-TN-15-0007 "Sentinel-2 Spectral Response Functions" v4.0 (2024),
Copernicus free and open data terms; Landsat 8/9 OLI: NASA/USGS relative spectral responses (US
Government work, public domain).  Both read from the ACOLITE tabulation (data files only).
"""
from __future__ import annotations

import bz2
import re
import os
from pathlib import Path

import numpy as np

SHARED = Path(os.environ.get("SEN2COR3_SHARED_DATA", "/work/shared/data"))
RSR_DIR = SHARED / "acolite-rsr-solar" / "RSR"
SOLAR_FILE = SHARED / "acolite-rsr-solar" / "Solar" / "Thuillier2003.txt.bz2"
SRF_FILES = {"S2A": "S2A_MSI_V4.txt", "S2B": "S2B_MSI_V4.txt", "S2C": "S2C_MSI_V4.txt",
             "L8": "L8_OLI.txt", "L9": "L9_OLI.txt"}
SRF_SOURCES = {
    "S2A": "ESA COPE-GSEG-EOPG-TN-15-0007 v4.0 (2024), via acolite data/RSR/S2A_MSI_V4.txt",
    "S2B": "ESA COPE-GSEG-EOPG-TN-15-0007 v4.0 (2024), via acolite data/RSR/S2B_MSI_V4.txt",
    "S2C": "ESA COPE-GSEG-EOPG-TN-15-0007 v4.0 (2024), via acolite data/RSR/S2C_MSI_V4.txt",
    "L8": "NASA/USGS OLI band-average RSR, via acolite data/RSR/L8_OLI.txt",
    "L9": "NASA/USGS OLI-2 RSR (Barsi et al. 2019), via acolite data/RSR/L9_OLI.txt",
}


def read_acolite_file(sensor: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """All bands of one ACOLITE RSR file: {'B01': (wl_um, resp), ...} (Landsat: 'B1'...)."""
    path = RSR_DIR / SRF_FILES[sensor.upper()]
    bands: dict[str, list[tuple[float, float]]] = {}
    cur = None
    for line in path.read_text().splitlines():
        s = line.strip()
        if not s:
            continue
        up = s.upper()
        m = re.match(r"^(?:#|;;)\s*(?:S2[ABC]_MSI\s+)?BAND\s+(\w+)\s*$", up)
        if m:
            tok = m.group(1)
            if sensor.upper().startswith("S2"):
                cur = "B8A" if tok == "8A" else f"B{int(tok):02d}"
            else:
                cur = f"B{int(tok)}"
            bands[cur] = []
            continue
        if s[0] in "#;" or cur is None:
            continue
        parts = s.replace(",", " ").split()
        try:
            bands[cur].append((float(parts[0]), float(parts[1])))
        except (ValueError, IndexError):
            continue
    return {b: (np.array([p[0] for p in v]) / 1000.0, np.array([p[1] for p in v])) for b, v in bands.items()}


def read_acolite_srf(sensor: str, band: str) -> tuple[np.ndarray, np.ndarray]:
    return read_acolite_file(sensor)[band]


def read_solar() -> tuple[np.ndarray, np.ndarray]:
    """Thuillier (2003) extraterrestrial irradiance: (wl_um, W m-2 um-1)."""
    rows = []
    with bz2.open(SOLAR_FILE, "rt") as fh:
        for line in fh:
            if line.startswith("#") or not line.strip():
                continue
            a, b = line.replace(",", " ").split()[:2]
            rows.append((float(a), float(b)))
    arr = np.array(rows)
    return arr[:, 0] / 1000.0, arr[:, 1] * 1000.0 / 1000.0  # mW m-2 nm-1 == W m-2 um-1

