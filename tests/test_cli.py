"""The front end: exactly Sen2Cor 03.02.00's flags, help text and argument validation."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sen2cor3.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[1]
FLAGS_0302 = ["--mode", "--resolution", "--datastrip", "--tile", "--output_dir", "--work_dir",
              "--img_database_dir", "--res_database_dir", "--processing_centre", "--archiving_centre",
              "--processing_baseline", "--raw", "--tif", "--sc_only", "--sc_classic", "--sc_cog", "--cr_only",
              "--debug", "--GIP_L2A", "--GIP_L2A_SC", "--GIP_L2A_AC", "--GIP_L2A_PB", "--Hyper_MS"]


def run_front_end(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, COLUMNS="200")
    return subprocess.run([sys.executable, str(ROOT / "L2A_Process.py"), *args],
                          capture_output=True, text=True, env=env, cwd="/")


def test_exactly_the_23_flags_in_sen2cor_order():
    parser = build_parser()
    options = [a.option_strings[0] for a in parser._actions if a.option_strings and a.dest != "help"]
    assert options == FLAGS_0302
    positionals = [a.dest for a in parser._actions if not a.option_strings]
    assert positionals == ["input_dir"]


def test_help_shows_version_line_and_usage_order():
    res = run_front_end("--help")
    assert res.returncode == 0
    assert ("Sen2Cor. Version: 03.02.00, created: 2024.12.18, supporting Level-1C product version 15.0, "
            "supporting Level-1TP Collection_1-2 Landsat_8-9, supporting Hyper MS Level-1C.") in res.stdout
    usage = " ".join(res.stdout.split("\n\n")[0].split())
    positions = [usage.index(f"[{flag}") for flag in FLAGS_0302]
    assert positions == sorted(positions)
    assert usage.rstrip().endswith("input_dir")
    assert "options:" in res.stdout or "optional arguments:" in res.stdout


def test_unknown_flag_exits_2():
    assert run_front_end("--no_such_flag", "x").returncode == 2


def test_resolution_choices():
    assert run_front_end("--resolution", "15", "x").returncode == 2


@pytest.mark.parametrize("argv, fragment", [
    (["--processing_centre", "sgs_", "X.SAFE"], "--processing_centre"),
    (["--archiving_centre", "SGS", "X.SAFE"], "--archiving_centre"),
    (["--processing_baseline", "4.0", "X.SAFE"], "--processing_baseline"),
    (["--mode", "toolbox", "X.SAFE"], "wrong operation mode"),
    (["--Hyper_MS", "--resolution", "20", "X.SAFE"], "30 m"),
])
def test_invalid_values_fail_with_one_line(argv, fragment, capsys):
    assert main(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and fragment in err[0]


def test_valid_centre_and_baseline_accepted():
    args = build_parser().parse_args(["--processing_centre", "SGS_", "--archiving_centre", "_AB_",
                                      "--processing_baseline", "05.11", "X.SAFE"])
    from sen2cor3.cli import validate_args
    assert validate_args(args) is None
