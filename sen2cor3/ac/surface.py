"""Per-block Lambertian inversion TOA -> surface reflectance (float32), the heart of the AC.

Model (``atmos`` docstring) written with the derived terms of ``atmos.derived``::

    rho_toa - path = E * ((1 - q) rho + q rho_e) / (1 - S rho_e)
    E = g_dir * F_dir + g_dif * F_dif + (g_dir + g_dif) * (1 - V) * rho_ter        (terrain-reflected light)

``rho_e`` None (no adjacency): rho_e = rho and the solution is closed-form, rho = y / (E + S y).
With an environment reflectance (adjacency step): rho = (y (1 - S rho_e) / E - q rho_e) / (1 - q); to first
order this is Sen2Cor's rho + q (rho - rho_e) with its spherical-albedo factor, but it is exact for the model,
so a surface -> TOA -> surface round trip returns the input to float32 precision.

Rugged terrain (terms with ``g_env``): the environment is lit by its own irradiance, not by the pixel's::

    rho_toa - path = (1 - q) (E + V S a) rho + q a,     a = g_env rho_e / (1 - S rho_e)

``g_env`` = g_dir + g_dif, the gain of flat sunlit ground, and ``rho_e`` the environment of the *apparent*
reflectance (``apparent_reflectance``: what flat sunlit ground would need to send the same light, i.e. each
neighbour's reflectance times its irradiance relative to flat ground). ``a`` is the light the surroundings
send up: the adjacency signal (through q) and, backscattered by the atmosphere, the skylight V S a that the
pixel receives through its sky view V. This is the 6S non-uniform-ground coupling the simulator uses
(``simulate.forward``); on flat ground (E = g_env, V = 1) it is the equation above, term for term. Sen2Cor 3
scales the environment with the pixel's own flux instead (L2A_AtmCorr.py ``rho_retrieval_step2``: ``band1 =
fluxm / (fluxpix + fluxter)``, then ``band1 += qh * (band1 - refav)`` and ``band1 *= 1 - (refav - 0.15) *
sphah``): a shaded slope's sunlit surroundings are then read as its own reflectance (issue 13: the darkest
illumination sextile +0.047 too bright, the brightest -0.014 too dark in B07 of the mountains_maritime
scene of ``benchmarks/accuracy_grid.py``; ``AcOptions.env_illumination = "pixel"`` keeps Sen2Cor's form).
"""
from __future__ import annotations

import numpy as np

from .settings import DEFAULTS

F32 = np.float32


def irradiance(t: dict[str, np.ndarray], f_dir=None, f_dif=None, sky_view=None, rho_terrain=None) -> np.ndarray:
    """Total downward 'gain' E of the pixel (flat: g_dir + g_dif)."""
    g_dir, g_dif = t["g_dir"], t["g_dif"]
    e = (g_dir if f_dir is None else g_dir * f_dir) + (g_dif if f_dif is None else g_dif * f_dif)
    if rho_terrain is not None and sky_view is not None:
        e = e + (g_dir + g_dif) * (1.0 - sky_view) * rho_terrain
    return e


def invert(rho_toa: np.ndarray, t: dict[str, np.ndarray], f_dir=None, f_dif=None, sky_view=None,
           rho_terrain=None, rho_env=None, cutoff: float | None = DEFAULTS.topo_corr_cutoff) -> np.ndarray:
    """Surface reflectance of one block (all inputs broadcastable float32 arrays; see module docstring).

    ``cutoff`` caps rho as Sen2Cor's AC_Topo_Corr_Cutoff does (faint, over-corrected slopes).
    """
    y = np.asarray(rho_toa, F32) - t["path"]
    e = irradiance(t, f_dir, f_dif, sky_view, rho_terrain)
    e = np.maximum(e, 1e-6)
    s = t["s_alb"]
    if rho_env is None:
        den = e + s * y
        rho = y / np.where(np.abs(den) < 1e-6, 1e-6, den)
    elif "g_env" in t:
        a = environment_light(t, rho_env)
        v = _sky(t, sky_view)
        rho = (y - t["q"] * a) / (np.maximum(1.0 - t["q"], 1e-3) * np.maximum(e + v * s * a, 1e-6))
    else:
        q = t["q"]
        rho = (y * (1.0 - s * rho_env) / e - q * rho_env) / np.maximum(1.0 - q, 1e-3)
    if cutoff is not None:
        np.minimum(rho, cutoff, out=rho)
    return rho.astype(F32, copy=False)


def environment_light(t: dict[str, np.ndarray], rho_env: np.ndarray) -> np.ndarray:
    """a = g_env rho_e / (1 - S rho_e): the light the surroundings send up, lit as flat sunlit ground times
    their own relative irradiance (``rho_e`` is the environment of ``apparent_reflectance``); the environment's
    own backscattered skylight is the geometric series in S."""
    return t["g_env"] * rho_env / (1.0 - t["s_alb"] * rho_env)


def apparent_reflectance(rho_toa: np.ndarray, t: dict[str, np.ndarray]) -> np.ndarray:
    """Uniform inversion with the gain of flat sunlit ground (``g_env``, else g_dir + g_dif): a pixel's
    reflectance times its irradiance relative to flat ground, the light it sends its neighbours. Its
    environment is the ``rho_e`` of rugged terrain (module docstring); on flat ground it is ``invert``'s."""
    y = np.asarray(rho_toa, F32) - t["path"]
    g = t["g_env"] if "g_env" in t else t["g_dir"] + t["g_dif"]
    den = np.maximum(g, 1e-6) + t["s_alb"] * y
    return (y / np.where(np.abs(den) < 1e-6, 1e-6, den)).astype(F32, copy=False)


def _sky(t: dict[str, np.ndarray], sky_view) -> np.ndarray | float:
    """The pixel's sky view: the argument, else the terms' ``sky`` (working-grid means), else 1 (flat)."""
    return sky_view if sky_view is not None else t.get("sky", 1.0)


def linear_coefficients(t: dict[str, np.ndarray], rho_env: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(A, C) with ``invert(rho_toa, t, rho_env=rho_env, cutoff=None) == A * rho_toa - C`` (flat surface).

    With the environment known, the inversion is linear in the TOA reflectance; when the terms and the
    environment are smooth working-grid fields, A and C can be interpolated to the pixels instead of the five
    terms, the exponentials and the environment (the same result to second order in the interpolation)."""
    e = np.maximum(irradiance(t), 1e-6)
    q = t["q"]
    inv_1q = 1.0 / np.maximum(1.0 - q, 1e-3)
    a = (1.0 - t["s_alb"] * rho_env) / e * inv_1q
    c = t["path"] * a + q * rho_env * inv_1q
    return np.asarray(a, F32), np.asarray(c, F32)


def forward(rho: np.ndarray, t: dict[str, np.ndarray], f_dir=None, f_dif=None, sky_view=None,
            rho_terrain=None, rho_env=None) -> np.ndarray:
    """TOA reflectance for a surface (the exact inverse of ``invert``; tests and predictions use it)."""
    e = irradiance(t, f_dir, f_dif, sky_view, rho_terrain)
    re = rho if rho_env is None else rho_env
    q = t["q"]
    if rho_env is not None and "g_env" in t:
        a = environment_light(t, rho_env)
        e = e + _sky(t, sky_view) * t["s_alb"] * a
        return (t["path"] + (1.0 - q) * e * rho + q * a).astype(F32, copy=False)
    return (t["path"] + e * ((1.0 - q) * rho + q * re) / (1.0 - t["s_alb"] * re)).astype(F32, copy=False)
