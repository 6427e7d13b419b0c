"""Cloud-top height from the B08 / B8A parallax: Sen2Cor 3's cloud-height tracker (``L2A_KLT_Tracker``).

The MSI sees a scene through B8A and B08 from slightly different along-track angles, so a cloud top at height h
appears shifted between the two images by about PARALLAX_PER_M x h metres while the ground does not move.
Sen2Cor 3 (default chain, ``L2A_SceneClass_evolution.L2A_CSHD_2_KLT_GAUSSIAN_BIS``) measures that shift with
OpenCV's Kanade-Lucas-Tomasi tracker on Laplacian-filtered images: Shi-Tomasi corners of the B8A Laplacian
inside the cloud mask, tracked into the B08 Laplacian and back, kept when the round trip closes within 0.1 px;
the radial shift of each point gives a height. The heights' mean and standard deviation replace the generic
cloud-height distribution of the shadow projection with a Gaussian when mean + std < 5 km.

Sen2Cor 3 also interpolates the tracked shifts of every valid pixel's nearest point into a height image
(:func:`height_image`) with which it gives low "clouds" back to the ground and takes high "snow" for cloud
(``v3.tail``). We follow it step for step (same OpenCV calls and parameters). Where Sen2Cor 3 would fail we fall back on the
generic distribution instead (a deviation, said where it happens): no corner or no tracked point (Sen2Cor: [1],
generic - the same), fewer than MIN_POINTS points or a zero spread (Sen2Cor: a NaN Gaussian, no shadow at all).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from . import masks

log = logging.getLogger("sen2cor3.sc")

#: Shift (m) between the B08 and B8A images per metre of cloud height (Sen2Cor 3 ``parallax = 0.012``).
PARALLAX_PER_M = 0.012
# OpenCV parameters of Sen2Cor 3's tracker (L2A_KLT_Tracker.py): Shi-Tomasi corners, pyramidal Lucas-Kanade
# matching, forward-backward check.
MAX_CORNERS = 1_000_000
QUALITY_LEVEL = 0.1
MIN_DISTANCE_PX = 5
BLOCK_SIZE_PX = 15
WIN_SIZE_PX = 25
MAX_LEVEL = 1
TERM_COUNT, TERM_EPS = 30, 0.03
BACK_THRESHOLD_PX = 0.1
LAPLACIAN_KSIZE = 5
#: Cloud mask of the height statistics: 3x3-median cloud probability above this, one cross dilation (Sen2Cor 3).
MASK_PROBABILITY = 0.33
#: Gaussian height distribution only while mean + std stays below this (m); else the generic one (Sen2Cor 3).
MAX_MEAN_PLUS_STD_M = 5000.0
#: Fewest tracked points for a height distribution (ours: Sen2Cor 3 takes any number, one point gives std 0
#: and a NaN kernel).
MIN_POINTS = 10
# Height image (Sen2Cor 3 compute_cloud_height_image): nearest tracked point per pixel, grey dilation 6 x 6,
# Gaussian sigma 5 (pixels of the classification grid); computed when valid pixels are > 2 % of the tile.
IMAGE_DILATION_PX = 6
IMAGE_SIGMA_PX = 5.0
IMAGE_VALID_SHARE_MIN = 0.02
#: Points are looked for within this distance (m) of the pixels the height image decides on (ours: the nearest
#: point of such a pixel, after the 6 px dilation and the sigma-5 smoothing, lies well inside it).
TRACK_REACH_M = 640.0
#: Reflectance to the uint16 counts the tracker sees (Sen2Cor 3: 10000 x reflectance).
COUNTS_PER_REFLECTANCE = 10000.0


@dataclass(frozen=True)
class HeightStats:
    """Cloud-top heights (m) of the tracked points."""
    mean_m: float
    std_m: float
    min_m: float
    max_m: float
    points: int


def _counts(toa: np.ndarray) -> np.ndarray:
    """TOA reflectance -> uint16 counts (no data 0), the integer image Sen2Cor 3 hands to OpenCV."""
    a = np.nan_to_num(np.asarray(toa, np.float32), nan=0.0)
    return np.clip(a * np.float32(COUNTS_PER_REFLECTANCE) + np.float32(0.5), 0, 65535).astype(np.uint16)


def laplacian_u8(counts: np.ndarray) -> np.ndarray:
    """OpenCV's 5x5 Laplacian saturated to uint8 (negative -> 0, > 255 -> 255), as Sen2Cor 3 filters both bands."""
    import cv2
    return cv2.Laplacian(counts, cv2.CV_8U, ksize=LAPLACIAN_KSIZE)


def laplacians(nir_broad: np.ndarray, nir: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(reference, image): the uint8 Laplacians of B8A (``nir``) and B08 (``nir_broad``) that the tracker matches;
    the height image and the height statistics of one classification share them."""
    return laplacian_u8(_counts(nir)), laplacian_u8(_counts(nir_broad))


def track_shifts(reference: np.ndarray, image: np.ndarray, mask: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(x, y, radial shift in pixels) of the corners of ``reference`` inside ``mask`` tracked into ``image`` and
    back within BACK_THRESHOLD_PX (both uint8 Laplacian images); None without corners."""
    import cv2
    p0 = cv2.goodFeaturesToTrack(reference, mask=mask.astype(np.uint8), maxCorners=MAX_CORNERS,
                                 qualityLevel=QUALITY_LEVEL, minDistance=MIN_DISTANCE_PX, blockSize=BLOCK_SIZE_PX)
    if p0 is None:
        return None
    lk = dict(winSize=(WIN_SIZE_PX, WIN_SIZE_PX), maxLevel=MAX_LEVEL,
              criteria=(cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, TERM_COUNT, TERM_EPS))
    p1, _, _ = cv2.calcOpticalFlowPyrLK(reference, image, p0, None, **lk)
    p0r, _, _ = cv2.calcOpticalFlowPyrLK(image, reference, p1, None, **lk)
    back = np.abs(p0 - p0r).reshape(-1, 2).max(axis=1)
    ok = back < BACK_THRESHOLD_PX
    xy0, xy1 = p0.reshape(-1, 2)[ok], p1.reshape(-1, 2)[ok]
    d = xy1 - xy0
    return xy0[:, 0], xy0[:, 1], np.hypot(d[:, 0], d[:, 1])


def stats_mask(cloud_prob: np.ndarray) -> np.ndarray:
    """Sen2Cor 3's mask of the height statistics: 3x3 median of the cloud probability > 0.33, cross-dilated."""
    return masks.dilate(masks.median3(np.asarray(cloud_prob, np.float32), above=MASK_PROBABILITY), masks.CROSS)


def height_stats(nir_broad: np.ndarray, nir: np.ndarray, cloud_prob: np.ndarray, resolution_m: float,
                 laps: tuple[np.ndarray, np.ndarray] | None = None) -> HeightStats | None:
    """Heights of the tracked cloud points (B08 = ``nir_broad``, B8A = ``nir``, TOA reflectance on the
    classification grid); None when nothing could be tracked."""
    mask = stats_mask(cloud_prob)
    if not mask.any():
        return None
    found = track_shifts(*(laps or laplacians(nir_broad, nir)), mask)
    if found is None or found[2].size == 0:
        log.info("cloud height: no point tracked between B8A and B08; generic height distribution")
        return None
    h = found[2].astype(np.float64) * resolution_m / PARALLAX_PER_M
    st = HeightStats(float(h.mean()), float(h.std()), float(h.min()), float(h.max()), int(h.size))
    log.info("cloud height from the B08/B8A parallax: mean %.0f m, std %.0f m (%d points, %.0f-%.0f m)",
             st.mean_m, st.std_m, st.points, st.min_m, st.max_m)
    return st


def height_image(nir_broad: np.ndarray, nir: np.ndarray, valid: np.ndarray, resolution_m: float,
                 track: np.ndarray | None = None, laps: tuple[np.ndarray, np.ndarray] | None = None
                 ) -> np.ndarray | None:
    """Cloud-top height (m, float32) at every pixel, Sen2Cor 3's way: the tracked shift of the nearest point
    tracked anywhere in the valid pixels (ground points shift by ~0), 0 outside ``valid``, grey-dilated 6 x 6 and
    Gaussian-smoothed (sigma 5 px), times resolution / PARALLAX_PER_M; None when no point is tracked or the valid
    pixels are 2 % of the grid or less. (Sen2Cor interpolates on a 40 m grid for speed at 20 m; we take the
    nearest point at the grid itself, through a distance transform.) ``track``: where to look for points (default
    every valid pixel, as Sen2Cor; the caller may restrict it to the surroundings of the pixels the image will
    decide on - a full tile has ~450 000 trackable corners, ~17 s of tracking)."""
    from scipy import ndimage
    valid = np.asarray(valid, bool)
    if valid.mean() <= IMAGE_VALID_SHARE_MIN:
        return None
    found = track_shifts(*(laps or laplacians(nir_broad, nir)),
                         valid if track is None else (np.asarray(track, bool) & valid))
    if found is None or found[2].size == 0:
        return None
    x, y, dr = found
    rows = np.clip(np.rint(y).astype(np.intp), 0, valid.shape[0] - 1)
    cols = np.clip(np.rint(x).astype(np.intp), 0, valid.shape[1] - 1)
    seeds = np.ones(valid.shape, bool)
    seeds[rows, cols] = False
    shift = np.zeros(valid.shape, np.float32)
    shift[rows, cols] = dr
    near = ndimage.distance_transform_edt(seeds, return_distances=False, return_indices=True)
    err = np.where(valid, shift[near[0], near[1]], np.float32(0))
    err = ndimage.gaussian_filter(ndimage.grey_dilation(err, size=(IMAGE_DILATION_PX, IMAGE_DILATION_PX)),
                                  IMAGE_SIGMA_PX)
    return (err * np.float32(resolution_m / PARALLAX_PER_M)).astype(np.float32)


def shadow_height_distribution(st: HeightStats | None) -> tuple[np.ndarray, np.ndarray] | None:
    """(heights m, weights 0..1) for the shadow projection: Sen2Cor 3's Gaussian of the tracked heights, sampled
    every metre from 0 to mean + 4 std and normalised to a peak of 1, while mean + std < 5 km; None (the generic
    distribution) otherwise, and for too few points or no spread."""
    if st is None or st.points < MIN_POINTS or st.std_m <= 0.0:
        return None
    if st.mean_m + st.std_m >= MAX_MEAN_PLUS_STD_M:
        log.info("cloud height: mean + std %.0f m >= %.0f m; generic height distribution",
                 st.mean_m + st.std_m, MAX_MEAN_PLUS_STD_M)
        return None
    h = np.arange(int(st.mean_m + 4.0 * st.std_m) + 1, dtype=np.float64)
    w = np.exp(-0.5 * ((h - st.mean_m) / st.std_m) ** 2)
    return h, (w / w.max()).astype(np.float32)


__all__ = ["HeightStats", "PARALLAX_PER_M", "height_image", "height_stats", "laplacian_u8", "laplacians",
           "shadow_height_distribution", "stats_mask", "track_shifts"]
