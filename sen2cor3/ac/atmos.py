"""The atmosphere as the AC sees it: one normalised set of 6S terms, and cheap per-pixel fields of them.

Why a layer of its own: the AC must not care how the look-up tables are stored or named. ``Atm`` fixes one
convention (the one of the simulator and of 6S' Lambertian model, extended to an environment reflectance
``rho_e`` and local illumination factors)::

    rho_toa = path + tg * (t_down_dir * F_dir + t_down_dif * F_dif) * (t_up_dir * rho + t_up_dif * rho_e)
                     / (1 - s_alb * rho_e)

``path`` is the TOA reflectance of a black surface (gases included). Flat ground, no adjacency
(F_dir = F_dif = 1, rho_e = rho) gives ``path + tg t_down t_up rho / (1 - S rho)``.

``AtmosphereModel`` wraps any callable with the ``rt.tables.atmosphere`` signature (dict or dataclass output,
several key spellings accepted) for one scene's sensor / aerosol / season / ozone.
``TermGrid`` holds, per band, the terms on coarse cells as a log-linear model in elevation and sqrt(WV),
so that a 10 m block needs only a few bilinear up-samplings and one exp per term.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Callable

import numpy as np

from sen2cor3.blocks import block_mean  # noqa: F401  (re-export: the working-grid means)
from sen2cor3.strips import THREADS, run_strips

F32 = np.float32

#: AOT550 nodes used when the tables do not expose their own axis.
DEFAULT_AOT_AXIS = np.array([0.0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.6, 0.8, 1.0, 1.5], F32)
#: Water-vapour nodes (g/cm2) used when the tables do not expose their own axis.
DEFAULT_WV_AXIS = (np.linspace(np.sqrt(0.1), np.sqrt(6.0), 16) ** 2).astype(F32)   # even in sqrt(WV)

_ALIASES: dict[str, tuple[str, ...]] = {
    "path": ("path", "rho_path", "path_reflectance", "lp", "rho_atm"),
    "tg": ("tg", "t_gas", "gas_transmittance", "tgas"),
    "t_down_dir": ("t_down_dir", "tdown_dir", "t_dir_down", "edir", "t_down_direct"),
    "t_down_dif": ("t_down_dif", "tdown_dif", "t_dif_down", "edif", "t_down_diffuse"),
    "t_up_dir": ("t_up_dir", "tup_dir", "t_dir_up", "t_up_direct"),
    "t_up_dif": ("t_up_dif", "tup_dif", "t_dif_up", "t_up_diffuse"),
    "s_alb": ("s_alb", "spherical_albedo", "sph_alb", "s", "salb"),
}


@dataclass
class Atm:
    """Lambertian-model terms (arrays or scalars, broadcastable), convention in the module docstring."""
    path: Any
    tg: Any
    t_down_dir: Any
    t_down_dif: Any
    t_up_dir: Any
    t_up_dif: Any
    s_alb: Any

    @property
    def t_down(self) -> Any:
        return self.t_down_dir + self.t_down_dif

    @property
    def t_up(self) -> Any:
        return self.t_up_dir + self.t_up_dif

    def astype(self, dtype=F32) -> "Atm":
        return Atm(**{f.name: np.asarray(getattr(self, f.name), dtype) for f in fields(self)})


def normalise(raw: Any, path_includes_gas: bool = True) -> Atm:
    """``Atm`` from a tables result (dict or object; aliases above; total+fraction forms accepted).

    ``path_includes_gas=False`` means the tables' path is inside the gas factor (rho_toa = Tg*(path+...)).
    """
    def get(name: str, required: bool = True):
        for key in _ALIASES.get(name, (name,)):
            if isinstance(raw, dict) and key in raw:
                return np.asarray(raw[key])
            if not isinstance(raw, dict) and hasattr(raw, key):
                return np.asarray(getattr(raw, key))
        if required:
            raise KeyError(f"atmosphere result lacks {name!r}")
        return None

    vals = {n: get(n, required=False) for n in _ALIASES}
    for d in ("down", "up"):
        if vals[f"t_{d}_dir"] is None or vals[f"t_{d}_dif"] is None:
            tot = get(f"t_{d}")
            frac = get(f"t_{d}_dir_frac", required=False)
            if vals[f"t_{d}_dir"] is not None:
                vals[f"t_{d}_dif"] = tot - vals[f"t_{d}_dir"]
            elif vals[f"t_{d}_dif"] is not None:
                vals[f"t_{d}_dir"] = tot - vals[f"t_{d}_dif"]
            elif frac is not None:
                vals[f"t_{d}_dir"], vals[f"t_{d}_dif"] = tot * frac, tot * (1 - frac)
            else:
                raise KeyError(f"atmosphere result lacks the direct/diffuse split of t_{d}")
    for n in ("path", "tg", "s_alb"):
        if vals[n] is None:
            vals[n] = get(n)
    path_toa = get("path_toa", required=False)
    if path_toa is not None:                 # rt.tables: 'path' is divided by Tg, 'path_toa' is at TOA
        vals["path"] = path_toa
    elif not path_includes_gas:
        vals["path"] = vals["path"] * vals["tg"]
    return Atm(**vals)


def toa_from_surface(rho: Any, atm: Atm, f_dir: Any = 1.0, f_dif: Any = 1.0, rho_env: Any = None) -> Any:
    """Forward model of the module docstring (``rho_env`` None: uniform surface)."""
    rho = np.asarray(rho)
    re = rho if rho_env is None else rho_env
    irr = atm.t_down_dir * f_dir + atm.t_down_dif * f_dif
    return atm.path + atm.tg * irr * (atm.t_up_dir * rho + atm.t_up_dif * re) / (1.0 - atm.s_alb * re)


class AtmosphereModel:
    """The scene's atmosphere: ``terms(band, aot, wv, z_km, sza, vza, raa) -> Atm`` (vectorised).

    ``fn`` has the ``rt.tables.atmosphere`` signature; None loads ``sen2cor3.rt.tables``.
    """

    def __init__(self, sensor: str, aerosol: str, season: str, ozone_du: float,
                 fn: Callable[..., Any] | None = None, aot_axis: Any = None, wv_axis: Any = None,
                 path_includes_gas: bool | None = None) -> None:
        mod = None
        if fn is None:
            from sen2cor3.rt import tables as mod  # noqa: F811 (parallel work; imported lazily)
            fn = mod.atmosphere
        self.fn = fn
        self.sensor, self.aerosol, self.season, self.ozone_du = sensor, aerosol, season, float(ozone_du)
        self.aot_axis = np.asarray(aot_axis if aot_axis is not None else _axis(mod, fn, "aot", DEFAULT_AOT_AXIS, sensor), F32)
        self.wv_axis = np.asarray(wv_axis if wv_axis is not None else _axis(mod, fn, "wv", DEFAULT_WV_AXIS), F32)
        if path_includes_gas is None:
            path_includes_gas = bool(getattr(mod or fn, "PATH_INCLUDES_GAS", True))
        self.path_includes_gas = path_includes_gas
        self.calls = 0

    def terms(self, band: str, aot: Any, wv: Any, z_km: Any, sza: Any, vza: Any, raa: Any) -> Atm:
        """Terms broadcast over all array arguments (float32 out)."""
        args = np.broadcast_arrays(*(np.asarray(a, np.float64) for a in (aot, wv, z_km, sza, vza, raa)))
        shape = args[0].shape
        flat = [a.ravel() for a in args]
        self.calls += 1
        raw = self.fn(self.sensor, band, self.aerosol, self.season, self.ozone_du, flat[1], flat[0], flat[2],
                      flat[3], flat[4], flat[5])
        atm = normalise(raw, self.path_includes_gas)
        out = {}
        for f in fields(atm):
            v = np.asarray(getattr(atm, f.name), F32)
            out[f.name] = np.full(shape, v.item(), F32) if v.size == 1 else v.reshape(shape)
        return Atm(**out)


def _axis(mod: Any, fn: Any, kind: str, default: np.ndarray, sensor: str = "S2A") -> np.ndarray:
    """The tables' own AOT / WV axis when they expose one (module attribute or function), else ``default``."""
    if kind == "aot" and mod is not None and hasattr(mod, "load_tables"):
        try:                                   # rt.tables: the AOT550 axis of the loaded tables
            return np.asarray(mod.load_tables(sensor)["_axes"]["aot"], F32)
        except Exception:  # noqa: BLE001 - fall back to the other spellings / the default
            pass
    names = {"aot": ("AOT_AXIS", "AOT550_AXIS", "aot_axis", "AOT550"),
             "wv": ("WV_AXIS", "wv_axis", "WV")}[kind]
    for holder in (mod, fn):
        for n in names:
            v = getattr(holder, n, None) if holder is not None else None
            if v is not None:
                v = v() if callable(v) else v
                try:
                    arr = np.asarray(v, F32).ravel()
                except (TypeError, ValueError):
                    continue
                if arr.size >= 2:
                    return arr
    return default


def relative_azimuth(saa: Any, vaa: Any) -> Any:
    """(sun - view azimuth) folded to 0..180 deg (6S terms are symmetric in the sign; simulator convention)."""
    r = np.mod(np.asarray(saa, np.float64) - np.asarray(vaa, np.float64), 360.0)
    return np.minimum(r, 360.0 - r)


# ------------------------------------------------------------------ bilinear up-sampling of cell fields
class Upsampler:
    """Bilinear interpolation from cell-centre values (cells of ``cell_px`` output pixels) to output pixels.

    Separable: columns once per field (``cols``), rows per block (``rows``); edges are held constant. A field
    given to ``rows`` as ``lazy(field)`` has its columns interpolated per block, on the field rows the block
    reads only (the same values: a row's column interpolation does not depend on the other rows), so a field
    of the working grid never exists as a (field rows x output columns) array (80 MB on a Landsat scene).
    """

    def __init__(self, coarse_shape: tuple[int, int], cell_px: float, out_shape: tuple[int, int]) -> None:
        self.coarse_shape, self.out_shape = coarse_shape, out_shape
        self.ri0, self.ri1, self.rw = _lin_index(out_shape[0], coarse_shape[0], cell_px)
        self.ci0, self.ci1, self.cw = _lin_index(out_shape[1], coarse_shape[1], cell_px)

    def cols(self, field: np.ndarray) -> np.ndarray:
        f = np.asarray(field, F32)
        return f[:, self.ci0] * (1 - self.cw) + f[:, self.ci1] * self.cw

    def rows(self, colfield: np.ndarray, r0: int, r1: int, out: np.ndarray | None = None) -> np.ndarray:
        """Output rows r0:r1 of a column-interpolated field: a + w (b - a) between its two bracketing rows.

        Output rows between the same two field rows share their difference row, so each run of them is one
        broadcast multiply into the result and one add (two passes, no full-size gather); the arithmetic is
        the element-wise (b - a) x w + a of a plain evaluation, to the bit."""
        i0, i1, w = self.ri0[r0:r1], self.ri1[r0:r1], self.rw[r0:r1]
        if isinstance(colfield, LazyCols):
            lo = int(i0[0])                       # the rows are monotonic: this block reads field rows lo..i1[-1]
            f = self.cols(colfield.field[lo: int(i1[-1]) + 1])
            i0, i1 = i0 - lo, i1 - lo
        else:
            f = np.asarray(colfield, F32)
        out = np.empty((r1 - r0, f.shape[1]), F32) if out is None else out
        starts = np.flatnonzero(np.r_[True, (i0[1:] != i0[:-1]) | (i1[1:] != i1[:-1])])
        for s, e in zip(starts, np.r_[starts[1:], i0.size]):
            a = f[i0[s]]
            seg = out[s:e]
            np.multiply(w[s:e, None], f[i1[s]] - a, out=seg)
            seg += a
        return out

    def full(self, field: np.ndarray) -> np.ndarray:
        return self.rows(self.cols(field), 0, self.out_shape[0])

    @staticmethod
    def lazy(field: np.ndarray) -> "LazyCols":
        """``field`` for :meth:`rows`, its columns interpolated block by block (see the class doc)."""
        return LazyCols(np.asarray(field, F32))


@dataclass(frozen=True)
class LazyCols:
    """A coarse field handed to :meth:`Upsampler.rows` un-interpolated (:meth:`Upsampler.lazy`)."""
    field: np.ndarray


def _lin_index(n_out: int, n_in: int, cell_px: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    pos = (np.arange(n_out) + 0.5) / cell_px - 0.5          # output pixel centre in cell-index units
    pos = np.clip(pos, 0.0, n_in - 1.0)
    i0 = np.minimum(np.floor(pos).astype(np.int64), max(n_in - 2, 0))
    i1 = np.minimum(i0 + 1, n_in - 1)
    return i0, i1, (pos - i0).astype(F32)



# ------------------------------------------------------------------ per-band term model on cells
DERIVED = ("path", "g_dir", "g_dif", "s_alb", "q")      # + "t_sun" (direct downward, Hay index) on request
Z_STEP_KM = 0.25       # km, elevation step of the gradient (ours)
S_STEP = 0.15          # step in sqrt(WV [g/cm2]) of the gradient (ours)
#: A band whose log-terms change less than this over one WV step is treated as WV-insensitive (ours).
WV_GRADIENT_MIN = 1e-4
#: Smallest WV (sqrt(g/cm2)) of the lower gradient point (ours).
S_MIN = 0.05


@dataclass
class BandTerms:
    """One band's terms on cells: ln(term) = L + Gz (z - Z0) + Gs (sqrt(wv) - S0).

    Derived terms: ``g_dir`` = tg t_down_dir t_up, ``g_dif`` = tg t_down_dif t_up, ``q`` = t_up_dif / t_up.
    """
    L: dict[str, np.ndarray]
    Gz: dict[str, np.ndarray] | None
    Gs: dict[str, np.ndarray] | None


def derived(atm: Atm) -> dict[str, np.ndarray]:
    t_up = atm.t_up
    base = atm.tg * t_up
    return {"path": atm.path, "g_dir": base * atm.t_down_dir, "g_dif": base * atm.t_down_dif,
            "s_alb": atm.s_alb, "q": atm.t_up_dif / np.maximum(t_up, 1e-6), "t_sun": atm.t_down_dir}


def _log(x: np.ndarray) -> np.ndarray:
    return np.log(np.maximum(np.asarray(x, np.float64), 1e-9))


class TermGrid:
    """Cell-level atmosphere for every band, evaluated once; ``block(band, ...)`` gives pixel terms.

    Cells carry AOT, angles, mean elevation Z0 and mean sqrt(WV) S0; elevation / WV gradients are added
    only when the scene has relief / the band reacts to WV (checked numerically, not by band name).
    """

    def __init__(self, model: AtmosphereModel, bands: list[str], aot: np.ndarray, wv: np.ndarray,
                 z_km: np.ndarray, sza: np.ndarray, vza: dict[str, np.ndarray], raa: dict[str, np.ndarray],
                 relief: bool, wv_varies: bool) -> None:
        self.Z0 = np.asarray(z_km, F32)
        self.S0 = np.sqrt(np.maximum(np.asarray(wv, F32), 0.0))
        self.bands: dict[str, BandTerms] = {}
        zc = np.asarray(z_km, np.float64)
        sc = self.S0.astype(np.float64)
        for b in bands:
            def ev(z, s):
                return {k: _log(v) for k, v in derived(model.terms(b, aot, s * s, z, sza, vza[b], raa[b])).items()}
            L = ev(zc, sc)
            Gz = Gs = None
            if relief:
                lo, hi = ev(np.maximum(zc - Z_STEP_KM, 0.0), sc), ev(zc + Z_STEP_KM, sc)
                dz = (zc + Z_STEP_KM) - np.maximum(zc - Z_STEP_KM, 0.0)
                Gz = {k: ((hi[k] - lo[k]) / dz).astype(F32) for k in L}
            if wv_varies:
                s_lo = np.maximum(sc - S_STEP, S_MIN)
                lo, hi = ev(zc, s_lo), ev(zc, sc + S_STEP)
                Gs = {k: ((hi[k] - lo[k]) / (sc + S_STEP - s_lo)).astype(F32) for k in L}
                if max(float(np.nanmax(np.abs(g))) for g in Gs.values()) * S_STEP < WV_GRADIENT_MIN:
                    Gs = None                                   # band insensitive to water vapour
            self.bands[b] = BandTerms({k: v.astype(F32) for k, v in L.items()}, Gz, Gs)

    def block(self, band: str, up: Upsampler, r0: int, r1: int, z_km: np.ndarray | None,
              sqrt_wv: np.ndarray | None, names: tuple[str, ...] = DERIVED) -> dict[str, np.ndarray]:
        """Pixel terms for output rows r0:r1 (``z_km``/``sqrt_wv`` are that block's pixel fields).

        Evaluated in chunks of about ``TERM_CHUNK_PX`` pixels, term after term: a chunk's interpolation,
        gradient products and exp stay in the CPU cache, and its temporaries are re-used heap memory instead of
        block-sized arrays faulted in afresh (the same element-wise float32 operations, to the bit)."""
        bt = self.bands[band]
        cache = _col_cache(self, up)
        gz = bt.Gz is not None and z_km is not None
        gs = bt.Gs is not None and sqrt_wv is not None
        fields = {k: (cache((band, "L", k), bt.L[k]), cache((band, "Gz", k), bt.Gz[k]) if gz else None,
                      cache((band, "Gs", k), bt.Gs[k]) if gs else None) for k in names}
        z0 = cache("Z0", self.Z0) if gz else None
        s0 = cache("S0", self.S0) if gs else None
        ncols = up.out_shape[1]
        out = {k: np.empty((r1 - r0, ncols), F32) for k in names}
        step = max(1, TERM_CHUNK_PX // max(ncols, 1))

        def chunks(a0: int, a1: int) -> None:
            for c0 in range(a0, a1, step):
                c1 = min(a1, c0 + step)
                i = slice(c0 - r0, c1 - r0)
                dz = _chunk(z_km, i) - up.rows(z0, c0, c1) if gz else None
                ds = _chunk(sqrt_wv, i) - up.rows(s0, c0, c1) if gs else None
                for k, (lf, gzf, gsf) in fields.items():
                    ln = up.rows(lf, c0, c1, out=out[k][i])
                    if dz is not None:
                        ln += up.rows(gzf, c0, c1) * dz
                    if ds is not None:
                        ln += up.rows(gsf, c0, c1) * ds
                    np.exp(ln, out=ln)
        # the two halves of the block on two threads (numpy releases the GIL in each chunk's operations; the
        # halves write disjoint rows): the relief terms are the correction's largest per-pixel cost. The halves
        # split the block's chunks, so each thread's chunks are the same as one thread's would be
        n_chunks = -(-(r1 - r0) // step)
        cut = [r0 + step * (n_chunks * j // TERM_THREADS) for j in range(TERM_THREADS)] + [r1]
        run_strips(chunks, [(a, b) for a, b in zip(cut, cut[1:]) if b > a], threads=TERM_THREADS)
        return out


#: Pixels per chunk of :meth:`TermGrid.block` (1 MB float32 arrays: the chunk's few fit the CPU cache).
TERM_CHUNK_PX = 1 << 18
#: Threads of :meth:`TermGrid.block` (the strip threads' count, two at most).
TERM_THREADS = THREADS


def _chunk(field: Any, rows: slice) -> Any:
    """Rows of a block's pixel field, or the field itself when it broadcasts over the rows."""
    return field[rows] if np.ndim(field) == 2 and np.shape(field)[0] > 1 else field


def _col_cache(grid: TermGrid, up: Upsampler) -> Callable[[Any, np.ndarray], np.ndarray]:
    """Column-interpolated fields are reused across blocks (cached per up-sampler)."""
    store = grid.__dict__.setdefault("_cols", {})
    key0 = id(up)
    if store.get("_owner") != key0:
        store.clear()
        store["_owner"] = key0

    def get(key: Any, field: np.ndarray) -> np.ndarray:
        if key not in store:
            store[key] = up.cols(field)
        return store[key]
    return get


# Visibility <-> AOT550 (Sen2Cor's conversion, see ``koschmieder_aot``): ln AOT = a(z) + b(z) ln VIS with
# a(z) = A2 z^2 + A1 z + A0, b(z) = B2 z^2 + B1 z + B0, z in km clipped to [0, 3.5] (clip: ours); the
# smallest visibility (km) and AOT taken into the logarithms (ours).
KOSCHMIEDER_A2, KOSCHMIEDER_A1, KOSCHMIEDER_A0 = -0.026235, -0.182321, 1.54641
KOSCHMIEDER_B2, KOSCHMIEDER_B1, KOSCHMIEDER_B0 = 0.003096, 0.011604, -0.854022
KOSCHMIEDER_Z_MAX_KM = 3.5
KOSCHMIEDER_VIS_MIN_KM = 1e-3
KOSCHMIEDER_AOT_MIN = 1e-4


def _koschmieder_ab(z_km: Any) -> tuple[Any, Any]:
    """a(z), b(z) of the visibility <-> AOT relation (z clipped to the fit range)."""
    z = np.clip(np.asarray(z_km, np.float64), 0.0, KOSCHMIEDER_Z_MAX_KM)
    a = KOSCHMIEDER_A2 * z * z + KOSCHMIEDER_A1 * z + KOSCHMIEDER_A0
    b = KOSCHMIEDER_B2 * z * z + KOSCHMIEDER_B1 * z + KOSCHMIEDER_B0
    return a, b


def koschmieder_aot(vis_km: Any, z_km: Any = 0.0) -> Any:
    """AOT550 from visibility as Sen2Cor converts it: AOT = exp(a(z) + b(z) ln VIS), z in km.

    a(z) = -0.026235 z^2 - 0.182321 z + 1.54641, b(z) = 0.003096 z^2 + 0.011604 z - 0.854022 (the quadratic
    Sen2Cor uses for CAMS; at z = 0 it equals its tabulated 1.54641 / -0.854022). This is the Koschmieder
    relation (extinction = 3.912 / VIS) fitted to the rural aerosol column of the RT code, so VIS 23 km ->
    AOT 0.32, 40 km -> 0.20, 120 km -> 0.08 at sea level.
    """
    a, b = _koschmieder_ab(z_km)
    return np.exp(a + b * np.log(np.maximum(np.asarray(vis_km, np.float64), KOSCHMIEDER_VIS_MIN_KM)))


def visibility_from_aot(aot: Any, z_km: Any = 0.0) -> Any:
    """Inverse of ``koschmieder_aot`` (km), for the visibility fields of the quality report."""
    a, b = _koschmieder_ab(z_km)
    return np.exp((np.log(np.maximum(np.asarray(aot, np.float64), KOSCHMIEDER_AOT_MIN)) - a) / b)


def cos_deg(x: Any) -> Any:
    return np.cos(np.radians(x))


__all__ = ["Atm", "AtmosphereModel", "TermGrid", "Upsampler", "block_mean", "koschmieder_aot",
           "visibility_from_aot", "toa_from_surface", "normalise", "relative_azimuth"]
