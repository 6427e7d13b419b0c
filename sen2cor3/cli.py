"""Command line of ``L2A_Process.py``: the 23 flags of Sen2Cor 03.02.00, their validation, and dispatch.

The flag names, order, choices and help strings are Sen2Cor's user interface (scripts and sen2like parse
``--help`` and pass these flags), so they are reproduced exactly. Everything else lives in ``pipeline``.
"""
from __future__ import annotations

import argparse
import re
import sys
from typing import Sequence

from sen2cor3.version import (DESCRIPTION, EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_SUCCESS,  # noqa: F401 (re-export)
                               PROCESSOR_ID_HYPER, PROCESSOR_ID_LANDSAT, PROCESSOR_ID_S2, PROCESSOR_VERSION,
                               PRODUCT_VERSION)

CENTRE_PATTERN = re.compile(r"^[A-Z_]{4}$")
BASELINE_PATTERN = re.compile(r"^\d{2}\.\d{2}$")


#: ``--mode`` values of the ground-segment operation; ``TOOLBOX`` is the user mode (as if ``--mode`` were absent).
GROUND_SEGMENT_MODES = ("generate_datastrip", "process_tile")


def build_parser(with_input: bool = True) -> argparse.ArgumentParser:
    """The argparse parser, flag for flag as in Sen2Cor 03.02.00 (same order, choices and help text).

    ``with_input=False``: without the positional ``input_dir``, as Sen2Cor 3 builds its parser when ``--mode``
    is given and is not ``TOOLBOX`` (03.03.01 ``L2A_Process.main``: a first parser reads ``--mode`` alone, the
    second adds ``input_dir`` only for ``TOOLBOX`` or no mode): the ground-segment modes take no input_dir.
    """
    p = argparse.ArgumentParser(prog="L2A_Process.py", description=DESCRIPTION)
    if with_input:
        p.add_argument("input_dir", help="Directory of Level-1C input")
    p.add_argument("--mode", help="Mode: generate_datastrip, process_tile")
    p.add_argument("--resolution", type=int, choices=[10, 20, 30, 60],
                   help="Target resolution, can be 10, 20 or 60m for S2, 30m for Hyper. "
                        "If omitted, only 20 and 10m resolutions will be processed")
    p.add_argument("--datastrip", help="Datastrip folder")
    p.add_argument("--tile", help="Tile folder")
    p.add_argument("--output_dir", help="Output directory")
    p.add_argument("--work_dir", help="Work directory")
    p.add_argument("--img_database_dir", help="Database directory for L1C(H) input images")
    p.add_argument("--res_database_dir", help="Database directory for results and temporary products")
    p.add_argument("--processing_centre", help='Processing centre as regex: ^[A-Z_]{4}$, e.g "SGS_"')
    p.add_argument("--archiving_centre", help='Archiving centre as regex: ^[A-Z_]{4}$, e.g. "SGS_"')
    p.add_argument("--processing_baseline",
                   help='Processing baseline in the format: "dd.dd", where d=[0:9]')
    p.add_argument("--raw", action="store_true", help="Export raw images in rawl format with ENVI hdr")
    p.add_argument("--tif", action="store_true", help="Export raw images in TIFF format instead of JPEG-2000")
    p.add_argument("--sc_only", action="store_true",
                   help="Performs only the scene classification at 60 or 20m resolution, 30m for Hyper")
    p.add_argument("--sc_classic", action="store_true",
                   help="Performs scene classification in Sen2Cor 2.9 mode")
    p.add_argument("--sc_cog", action="store_true", help="Export SCL image in COG format instead of JPEG_2000")
    p.add_argument("--cr_only", action="store_true",
                   help="Performs only the creation of the L2A product tree, no processing")
    p.add_argument("--debug", action="store_true", help="Performs in debug mode")
    p.add_argument("--GIP_L2A", help="Select the user GIPP")
    p.add_argument("--GIP_L2A_SC", help="Select the scene classification GIPP")
    p.add_argument("--GIP_L2A_AC", help="Select the atmospheric correction GIPP")
    p.add_argument("--GIP_L2A_PB", help="Select the processing baseline GIPP")
    p.add_argument("--Hyper_MS", action="store_true", help="To Process a Hyper_MS product")
    return p


def validate_args(args: argparse.Namespace) -> str | None:
    """Return a one-line reason when the flag combination cannot run, else None."""
    for flag in ("processing_centre", "archiving_centre"):
        value = getattr(args, flag)
        if value is not None and not CENTRE_PATTERN.match(value):
            return f"--{flag} '{value}' does not match ^[A-Z_]{{4}}$ (e.g. SGS_)"
    if args.processing_baseline is not None and not BASELINE_PATTERN.match(args.processing_baseline):
        return f"--processing_baseline '{args.processing_baseline}' is not in the format dd.dd"
    if args.mode is not None and args.mode not in ("TOOLBOX", *GROUND_SEGMENT_MODES):
        return f"wrong operation mode: {args.mode}"
    if args.mode in GROUND_SEGMENT_MODES:
        from sen2cor3.ground_segment import check_args
        return check_args(args)
    if args.Hyper_MS and args.resolution != 30:
        # Sen2Cor 3 (L2A_ProcessTileToolbox): an absent --resolution counts as 0 and is refused as well
        return "An Hyper_MS has been selected, Please set the resolution to 30 m"
    if args.raw and args.tif:
        return "--raw and --tif are exclusive: choose one output format"
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``L2A_Process.py`` and of the ``L2A_Process`` console command."""
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--mode")
    mode = pre.parse_known_args(argv)[0].mode
    if mode is not None and mode not in ("TOOLBOX", *GROUND_SEGMENT_MODES):
        print(f"ERROR: wrong operation mode: {mode}", file=sys.stderr)      # Sen2Cor's message
        return EXIT_FAILURE
    args = build_parser(with_input=mode in (None, "TOOLBOX")).parse_args(argv)
    if mode in GROUND_SEGMENT_MODES:
        args.input_dir = None
    reason = validate_args(args)
    if reason:
        print(f"ERROR: {reason}", file=sys.stderr)
        return EXIT_FAILURE
    if args.mode == "TOOLBOX":                  # Sen2Cor: --mode TOOLBOX is the user mode
        args.mode = None
    from sen2cor3.heap import no_huge_pages
    no_huge_pages()                             # a processing run from here on: see there why
    if args.mode in GROUND_SEGMENT_MODES:
        from sen2cor3.ground_segment import run as run_ground_segment
        return run_ground_segment(args)
    from sen2cor3.pipeline import run  # imported late: --help must stay instant
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
