"""One run of L2A_Process on one product: resolve paths, read the L1C, build the L2A tree, process, finish.

Everything that can fail raises one of the project's one-line errors; ``run`` turns them into the report's
last message, a non-zero exit status, and no product or staging folder left in the output directory.
"""
from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from sen2cor3 import version as cli
from sen2cor3.errors import ProcessingError, Terminated  # noqa: F401 (re-export: the historical home)
from sen2cor3.products.staging import StagingArea, remove_stale_staging

log = logging.getLogger("sen2cor3")


@dataclass(frozen=True)
class RunPaths:
    """Where a run reads and writes (Sen2Cor's rules for defaults)."""
    input_dir: Path
    output_dir: Path
    work_dir: Path | None


def resolve_paths(args: argparse.Namespace) -> RunPaths:
    """Sen2Cor's defaults: output beside an absolute input, in the cwd for a relative one.

    The input may be the .SAFE folder, its MTD_MSIL1C.xml, or a path inside GRANULE (the granule part is
    stripped as Sen2Cor does).
    """
    raw = Path(args.input_dir)
    given_relative = not raw.is_absolute()
    input_dir = Path(os.path.normpath(os.path.abspath(raw)))
    if input_dir.name.upper().startswith("MTD_MSIL1C") and input_dir.suffix.lower() == ".xml":
        input_dir = input_dir.parent
    if "GRANULE" in input_dir.parts:
        input_dir = Path(*input_dir.parts[: input_dir.parts.index("GRANULE")])
    if not input_dir.exists():
        raise ProcessingError(f"{input_dir}: Input user product does not exist.")
    if args.output_dir:
        output_dir = Path(os.path.normpath(os.path.abspath(args.output_dir)))
    else:
        output_dir = Path.cwd() if given_relative else input_dir.parent
    work_dir = Path(os.path.normpath(os.path.abspath(args.work_dir))) if args.work_dir else None
    return RunPaths(input_dir, output_dir, work_dir)


def prepare_output_dir(output_dir: Path) -> None:
    """Create the output directory (one level, as Sen2Cor does) and check it is writable."""
    if not output_dir.exists():
        try:
            output_dir.mkdir()
        except OSError as exc:
            raise ProcessingError(f"{output_dir}: cannot create the output directory ({exc.strerror})") from exc
    if not output_dir.is_dir():
        raise ProcessingError(f"{output_dir}: output path is not a directory")
    if not os.access(output_dir, os.W_OK | os.X_OK):
        raise ProcessingError(f"{output_dir}: output directory is not writable")


def _raise_terminated(signum, frame):  # pragma: no cover - exercised through subprocess tests
    raise Terminated(f"terminated by signal {signum}")


def run(args: argparse.Namespace) -> int:
    """Run one product; return the process exit status (0 success, 1 failure, 130 interrupted)."""
    from sen2cor3.errors import InputError, RasterError
    from sen2cor3.io import report

    previous_handler = signal.signal(signal.SIGTERM, _raise_terminated)
    paths: RunPaths | None = None
    status = cli.EXIT_FAILURE
    try:
        paths = resolve_paths(args)
        prepare_output_dir(paths.output_dir)
        if paths.work_dir is not None:
            paths.work_dir.mkdir(parents=True, exist_ok=True)
        status = _run_product(args, paths)
    except Terminated as exc:
        _report_error(f"{exc}: run aborted, nothing written to the output directory")
    except KeyboardInterrupt:
        _report_error("interrupted by the user (Ctrl-C): run aborted, nothing written to the output directory")
        status = cli.EXIT_INTERRUPTED
    except ProcessingError as exc:
        _report_error(str(exc))
    except (InputError, RasterError) as exc:        # raised while pixels were read or images written
        _report_error(str(exc))
    except OSError as exc:                          # disk full, I/O error, a product of the same name (staging)
        _report_error(_os_error_line(exc, paths.output_dir if paths else None))
    except Exception as exc:  # noqa: BLE001 - a bug of ours: one line for the user, the traceback in the report
        log.debug("internal error", exc_info=True)
        _report_error(f"{paths.input_dir if paths else args.input_dir}: internal error "
                      f"({type(exc).__name__}: {exc}); run with --debug for the traceback in the report")
    finally:
        signal.signal(signal.SIGTERM, previous_handler)
        report.finish(status == cli.EXIT_SUCCESS)
    return status


def _os_error_line(exc: OSError, output_dir: Path | None) -> str:
    """One line naming the file and the fault; a failing write(2) (ENOSPC, EIO) names no file: use the output dir."""
    if exc.strerror is None:                        # raised with a message of ours (StagingArea's FileExistsError)
        return str(exc)
    if exc.filename2 is not None:                   # copy/rename: name both (shutil puts the source first)
        return f"{exc.filename} -> {exc.filename2}: {exc.strerror}"
    return f"{exc.filename or output_dir or '?'}: {exc.strerror}"


def _report_error(message: str) -> None:
    """One line on stderr (through the log) naming the file and the fault."""
    if logging.getLogger("sen2cor3").handlers:
        log.error(message)
    else:
        print(f"ERROR: {message}", file=sys.stderr)


def _run_product(args: argparse.Namespace, paths: RunPaths) -> int:
    from sen2cor3.config import load_config
    from sen2cor3.errors import GippError, InputError
    from sen2cor3.io import report
    from sen2cor3.plan import plan_for
    from sen2cor3.processing import OutputOptions, process_tile
    from sen2cor3.readers import apply_region_of_interest, open_input
    from sen2cor3.writers import writer_for

    if args.mode is not None:                  # cli.main sends the ground-segment modes to sen2cor3.ground_segment
        raise ProcessingError(f"--mode {args.mode}: the ground-segment modes run through sen2cor3.ground_segment")
    generation_time = datetime.now(timezone.utc).replace(microsecond=0)
    try:
        config = load_config(args.GIP_L2A, args.GIP_L2A_SC, args.GIP_L2A_AC, args.GIP_L2A_PB)
        product = open_input(paths.input_dir, hyper_ms=args.Hyper_MS)
        sensor = product.sensor
        plan = plan_for(sensor, args.resolution, sc_only=args.sc_only,
                        downsample_20_to_60=config.l2a.common.downsample_20_to_60)
        product = apply_region_of_interest(product, config.l2a.common.region_of_interest)
    except (GippError, InputError) as exc:
        raise ProcessingError(str(exc)) from exc
    writer = writer_for(product)

    baseline = args.processing_baseline or config.pb.baseline_version
    out_name = writer.product_folder_name(product, baseline, generation_time)
    remove_stale_staging(paths.output_dir)
    run_log = report.setup_logging(paths.work_dir or default_log_dir(), out_name, generation_time,
                                   debug=args.debug, log_level=config.l2a.common.log_level)
    for note in product.warnings:
        log.warning("%s: %s", product.safe_path, note)
    report.stream("%s started ..." % getattr(cli, f"PROCESSOR_ID_{sensor.processor_kind}"))
    report.stream("Product version: %s" % cli.PRODUCT_VERSION)
    report.stream("Operation mode: TOOLBOX")
    report.stream("Processing baseline: %s" % baseline)
    cr_only = args.cr_only and not writer.ignores_cr_only
    if args.cr_only and not cr_only:
        log.warning("--cr_only has no effect on %s inputs (as in Sen2Cor 3): the product is processed",
                    sensor.mission_id)
    with StagingArea(paths.output_dir, out_name, replace=writer.replace_existing) as stage:
        report.progress(0.0, "Creating L2A product tree")
        l2a = writer.create(product, stage.product_dir, generation_time=generation_time, baseline=baseline,
                            processing_centre=args.processing_centre or _l1c_centre(product),
                            archiving_centre=args.archiving_centre or _l1c_centre(product),
                            config_paths=config.paths, resolutions=plan.outputs, image_ext=_image_ext(args))
        files, qi_values, aux_info = [], {}, {}
        if not cr_only:
            results = process_tile(product, l2a, config, plan=plan,
                                   options=OutputOptions(tif=args.tif, raw=args.raw, sc_cog=args.sc_cog,
                                                         sc_only=args.sc_only,
                                                         tci=config.l2a.common.generate_tci_output
                                                         or writer.always_tci,
                                                         dem=config.l2a.common.generate_dem_output,
                                                         ddv=config.l2a.common.generate_ddv_output),
                                   classic=args.sc_classic or sensor.classic_sc_only,
                                   scratch_dir=stage.root / "scratch")
            files, qi_values, aux_info = results.files, results.qi, results.aux_info
        report.progress(95.0, "Writing L2A metadata")
        writer.finalize(l2a, image_files_written=files, qi_values=qi_values, aux_info=aux_info)
        report.copy_report_into(run_log, *writer.report_destination(l2a))
        final = stage.commit()
        report.stream("L2A product written: %s" % final)
    return cli.EXIT_SUCCESS


def _l1c_centre(product) -> str:
    """Toolbox runs keep the L1C datastrip's centre code (``DS_<centre>_...``) unless the flags override it."""
    parts = (product.datastrip_name or "").split("_")
    return parts[1] if len(parts) > 2 and len(parts[1]) == 4 else "SGS_"


def default_log_dir() -> Path:
    """Sen2Cor's report folder when no --work_dir is given: ``$SEN2COR_HOME/log`` (never the output dir,
    which must hold nothing but the product, nor the input product, which is never written to)."""
    home = os.environ.get("SEN2COR_HOME") or os.path.join(os.path.expanduser("~"), "sen2cor", "3.02")
    return Path(home) / "log"


def _image_ext(args: argparse.Namespace) -> str:
    return ".tif" if args.tif else (".rawl" if args.raw else ".jp2")
