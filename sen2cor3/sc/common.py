"""What both scene-classification chains share after the spectral tests: the cloud and cirrus classes, the
final clean-up and the result type (the classic chain in :mod:`.classify`, Sen2Cor 3's in :mod:`.v3`)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import ndimage

from sen2cor3.strips import row_strips, run_strips

from . import spectral_tests as T
from .recover import NOT_CLASSIFIED, State

F32 = np.float32
#: Rows per strip of the steps that classify each pixel on its own (a few MB per float32 band of a 7700 px wide
#: Landsat scene; see :mod:`sen2cor3.strips`).
STRIP_ROWS = 256


@dataclass(frozen=True)
class SceneClassification:
    """SCL (uint8 codes of the GIPP classificators) and cloud/snow probabilities in percent."""

    scl: np.ndarray
    cloud_prob: np.ndarray
    snow_prob: np.ndarray


#: Key of the cirrus-test B10 (the B10 excess over the surface's dry-air signal) in the band dict.
B10_CIRRUS = "cirrus_excess"


def per_pixel_strips(st: State, step) -> None:
    """Run ``step(sub_state, r0, r1)`` on row strips of a step that reads and writes each pixel on its own
    (the state's rows are views: the strips write the whole-grid arrays, in the same order per pixel)."""
    def one(r0: int, r1: int, _h0: int, _h1: int) -> None:
        step(State(st.scl[r0:r1], st.p[r0:r1], st.s[r0:r1], st.valid[r0:r1], st.c), r0, r1)
    run_strips(one, row_strips(st.scl.shape[0], STRIP_ROWS))


def cloud_classes(st: State, b, th: Any, dem: np.ndarray | None, classic: bool) -> None:
    """Step 7: cloud classes from the probability, then thin and thick cirrus from B10; per pixel, in row
    strips (``b``: the classification's :class:`~sen2cor3.sc.classify.RoleBands`).

    Both cirrus tests use ``b[B10_CIRRUS]`` when the ground guard made it (a deviation, see
    :func:`_cirrus_signal`), else Sen2Cor's raw B10."""
    c = st.c
    lp, mp, hp = F32(th.t_cloud_lp), F32(th.t_cloud_mp), F32(th.t_cloud_hp)
    has_cirrus = "cirrus" in b                     # no 1375 nm band: no cirrus classes
    b10_key = B10_CIRRUS if B10_CIRRUS in b else "cirrus"

    def one(sub: State, r0: int, r1: int) -> None:
        un = sub.is_(NOT_CLASSIFIED)
        p = sub.p
        sub.scl[un & (p > lp) & (p < mp)] = c.unclassified
        sub.scl[un & (p >= mp) & (p < hp)] = c.medium_proba_clouds
        sub.scl[un & (p >= hp)] = c.high_proba_clouds
        if not has_cirrus:
            return
        low = T.below_cirrus_altitude(None if dem is None else dem[r0:r1], p.shape)
        rows = b.rows(r0, r1, (b10_key, "blue"))
        b10 = rows[b10_key]
        sub.set(T.thin_cirrus_candidates(b10, rows["blue"], th) & low & (p < mp), c.thin_cirrus)
        thick = T.thick_cirrus(b10, th) & (p < hp)
        if classic:
            sub.set(thick, c.medium_proba_clouds)
        else:
            sub.set(thick & low, c.medium_proba_clouds, p=0.65, s=0.0)
    per_pixel_strips(st, one)


def finish(st: State, median_filter: int, classic: bool, leftover: int | None = None) -> SceneClassification:
    """Leftovers to their final class, optional median filter, probabilities in percent."""
    c = st.c
    if leftover is None:
        leftover = c.unclassified if classic else c.not_vegetated
    st.scl[st.scl == NOT_CLASSIFIED] = leftover
    scl = st.scl
    if median_filter and median_filter > 0:
        scl = ndimage.median_filter(scl, size=int(median_filter))
    invalid = (scl == c.no_data) | (scl == c.saturated_defective)
    p, s = st.p, st.s
    p[invalid] = 0
    s[invalid] = 0
    return SceneClassification(scl.astype(np.uint8, copy=False), to_percent(p), to_percent(s))


def to_percent(x: np.ndarray) -> np.ndarray:
    """0..1 float to 0..100 uint8, rounded half up as Sen2Cor (x*100 + 0.5, truncated)."""
    return (np.clip(x, 0, 1) * F32(100) + F32(0.5)).astype(np.uint8)
