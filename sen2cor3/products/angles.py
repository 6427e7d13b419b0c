"""Sun and viewing angles from the 5 km MTD_TL grids to any (coarser or finer) grid of the tile.

Why a module of its own: the reader, the AC (per-cell geometry) and the simulator (writing grids) all need the
same convention. Grid node (i, j) of MTD_TL is at (ULX + j * COL_STEP, ULY - i * ROW_STEP), i.e. the first
value sits on the tile's upper-left corner; a target pixel is sampled at its centre. Interpolation is
bilinear (scipy.ndimage.map_coordinates, order 1); NaN nodes (no detector) are first filled with the
nearest valid node so the edge of a swath does not turn whole cells into NaN. Azimuths are interpolated as
unit vectors (sin, cos) so that 359 deg and 1 deg average to 0, not 180.
"""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from scipy import ndimage

from .model import AngleGrids, Geoposition

__all__ = ["fill_nan_nearest", "interpolate_angle_grid", "angle_fields", "merge_detector_grids"]


def fill_nan_nearest(grid: np.ndarray) -> np.ndarray:
    """Copy of ``grid`` with every NaN replaced by its nearest non-NaN node (all-NaN grids stay NaN)."""
    grid = np.asarray(grid, dtype=np.float64)
    nan = np.isnan(grid)
    if not nan.any() or nan.all():
        return grid.copy()
    idx = ndimage.distance_transform_edt(nan, return_distances=False, return_indices=True)
    return grid[tuple(idx)]


def merge_detector_grids(grids: Iterable[np.ndarray]) -> np.ndarray:
    """One grid per band from the per-detector grids: each node takes the first detector that covers it.

    Adjacent detectors overlap by a few nodes; their zenith values agree to ~0.1 deg there, while their
    azimuths can differ a lot near nadir, so averaging would be wrong: the lowest detector id wins.
    """
    out: np.ndarray | None = None
    for g in grids:
        g = np.asarray(g, dtype=np.float64)
        out = g.copy() if out is None else np.where(np.isnan(out), g, out)
    if out is None:
        raise ValueError("no detector grid given")
    return out


def _sample_coords(geoposition: Geoposition, shape: tuple[int, int] | None, col_step: float,
                   row_step: float) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    """Fractional grid indices (rows, cols) of the target pixel centres."""
    if shape is None:
        shape = (geoposition.nrows, geoposition.ncols)
    nrows, ncols = int(shape[0]), int(shape[1])
    if nrows <= 0 or ncols <= 0:
        raise ValueError(f"bad target shape {shape}")
    px_h = geoposition.nrows * abs(geoposition.ydim) / nrows     # target pixel size (m)
    px_w = geoposition.ncols * abs(geoposition.xdim) / ncols
    gi = (np.arange(nrows) + 0.5) * px_h / row_step
    gj = (np.arange(ncols) + 0.5) * px_w / col_step
    return gi, gj, (nrows, ncols)


def interpolate_angle_grid(grid: np.ndarray, col_step: float, row_step: float, geoposition: Geoposition,
                           shape: tuple[int, int] | None = None, azimuth: bool = False) -> np.ndarray:
    """Bilinear, NaN-filled interpolation of one angle grid (deg) onto the tile grid, float32.

    ``geoposition`` gives the tile extent (its UL corner is the grid origin); ``shape`` (rows, cols) the
    target grid covering that extent (default: the geoposition's own size), e.g. (nrows // 10, ncols // 10)
    for 600 m cells from the 60 m geoposition.
    """
    gi, gj, (nrows, ncols) = _sample_coords(geoposition, shape, col_step, row_step)
    rr = np.repeat(gi, ncols).reshape(nrows, ncols)
    cc = np.tile(gj, nrows).reshape(nrows, ncols)
    filled = fill_nan_nearest(grid)
    if np.isnan(filled).all():
        return np.full((nrows, ncols), np.nan, dtype=np.float32)

    def _interp(a: np.ndarray) -> np.ndarray:
        return ndimage.map_coordinates(a, [rr, cc], order=1, mode="nearest")

    if not azimuth:
        return _interp(filled).astype(np.float32)
    rad = np.deg2rad(filled)
    az = np.rad2deg(np.arctan2(_interp(np.sin(rad)), _interp(np.cos(rad))))
    return np.mod(az, 360.0).astype(np.float32)


def _mean_zenith(fields: list[np.ndarray]) -> np.ndarray:
    return np.nanmean(np.stack(fields), axis=0).astype(np.float32)


def _mean_azimuth(fields: list[np.ndarray]) -> np.ndarray:
    rad = np.deg2rad(np.stack(fields))
    az = np.rad2deg(np.arctan2(np.nanmean(np.sin(rad), axis=0), np.nanmean(np.cos(rad), axis=0)))
    return np.mod(az, 360.0).astype(np.float32)


def angle_fields(angles: AngleGrids, geoposition: Geoposition, shape: tuple[int, int] | None = None,
                 bands: Iterable[str] | None = None, per_band: bool = False) -> dict[str, np.ndarray]:
    """Sun and view angle fields (deg, float32) on a grid of the tile.

    Keys: ``sun_zenith``, ``sun_azimuth``, ``view_zenith``, ``view_azimuth`` (view = mean over ``bands``,
    default all bands with grids; azimuth as a vector mean). With ``per_band``, also
    ``view_zenith_<band>`` / ``view_azimuth_<band>`` for each band.
    """
    cs, rs = angles.col_step_m, angles.row_step_m
    out = {
        "sun_zenith": interpolate_angle_grid(angles.sun_zenith, cs, rs, geoposition, shape),
        "sun_azimuth": interpolate_angle_grid(angles.sun_azimuth, cs, rs, geoposition, shape, azimuth=True),
    }
    names = [b for b in (bands if bands is not None else angles.view_zenith) if b in angles.view_zenith]
    vz, va = [], []
    for b in names:
        z = interpolate_angle_grid(angles.view_zenith[b], cs, rs, geoposition, shape)
        a = interpolate_angle_grid(angles.view_azimuth[b], cs, rs, geoposition, shape, azimuth=True)
        vz.append(z)
        va.append(a)
        if per_band:
            out[f"view_zenith_{b}"] = z
            out[f"view_azimuth_{b}"] = a
    if vz:
        out["view_zenith"] = _mean_zenith(vz)
        out["view_azimuth"] = _mean_azimuth(va)
    else:
        nan = np.full(out["sun_zenith"].shape, np.nan, dtype=np.float32)
        out["view_zenith"], out["view_azimuth"] = nan, nan.copy()
    return out
