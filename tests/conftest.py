"""Shared fixtures: small synthetic L1C products and the read-only real data folder.

``small_l1c`` is the opened :class:`~sen2cor3.products.model.L1CProduct` (its ``safe_path`` is the SAFE),
``small_l1c_safe`` the SAFE folder itself; the ``_pb0301`` variants are the same scene at baseline 03.01.
To build other variants use ``fixtures_l1c.make_small_l1c(out_dir, size=..., baseline=..., **overrides)``.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from fixtures_l1c import make_small_l1c
from sen2cor3.products.l1c import open_l1c
from sen2cor3.products.model import L1CProduct

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="session")
def small_l1c_safe(tmp_path_factory) -> Path:
    """A 120 x 120 px (10 m) L1C SAFE on tile 32TQM, processing baseline 05.11 (RADIO_ADD_OFFSET -1000)."""
    return make_small_l1c(tmp_path_factory.mktemp("l1c_pb0511"), size=120, baseline="05.11")


@pytest.fixture(scope="session")
def small_l1c(small_l1c_safe: Path) -> L1CProduct:
    """:func:`small_l1c_safe`, opened."""
    return open_l1c(small_l1c_safe)


@pytest.fixture(scope="session")
def small_l1c_pb0301_safe(tmp_path_factory) -> Path:
    """The same scene at processing baseline 03.01 (no RADIO_ADD_OFFSET, GML QI masks)."""
    return make_small_l1c(tmp_path_factory.mktemp("l1c_pb0301"), size=120, baseline="03.01")


@pytest.fixture(scope="session")
def small_l1c_pb0301(small_l1c_pb0301_safe: Path) -> L1CProduct:
    """:func:`small_l1c_pb0301_safe`, opened."""
    return open_l1c(small_l1c_pb0301_safe)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """/work/shared/data (real reference data); tests using it are skipped when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real reference data not available at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def t55jgf_l1c(tmp_path_factory) -> Path:
    """The real S2B T55JGF L1C SAFE (``real_t55jgf.build_safe``, ~40 s), built once per session; tests that
    change it work on a copy. Skips with the reason when ../shared is absent."""
    import real_t55jgf
    reason = real_t55jgf.missing_reason()
    if reason is not None:
        pytest.skip(reason)
    return real_t55jgf.build_safe(tmp_path_factory.mktemp("t55jgf_l1c"))
