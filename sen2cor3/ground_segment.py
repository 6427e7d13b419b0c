"""The ground-segment ("PDGS") operation modes: ``--mode generate_datastrip`` and ``--mode process_tile``.

ESA's production chain (and cloud pipelines copying it) runs Sen2Cor in two steps: first the L2A datastrip of
an L1C datastrip, then every tile on its own, possibly at the same time on different machines. What Sen2Cor 3
does (03.03.01 source, ``L2A_Process.py``, ``L2A_ProcessDataStrip.py``, ``L2A_ProcessTilePdgs.py``,
``L2A_Config.py``) and what we do:

* Command line (``L2A_Process.main``): with ``--mode`` the positional ``input_dir`` is not part of the command
  line at all (the parser only adds it when ``--mode`` is absent); any other mode string: "wrong operation
  mode: <mode>", FAILURE.
* ``generate_datastrip`` needs ``--datastrip`` (the L1C datastrip folder), ``--work_dir``,
  ``--processing_centre``, ``--archiving_centre``, ``--output_dir``; messages, in Sen2Cor's order: "No
  argument for datastrip present.", "No argument for processing centre present.", "No argument for archiving
  centre present.", "Input datastrip does not exist.", "No argument for output directory present." (Sen2Cor
  crashes on a missing ``--work_dir``; we say "No argument for work directory present." first).
  It writes only ``<output_dir>/S2x_OPER_MSI_L2A_DS_<centre>_<creation>_S<sensing>_N<pb>/`` (MTD_DS.xml, an
  empty QI_DATA); see :func:`sen2cor3.products.l2a.create_l2a_datastrip`.
* ``process_tile`` needs ``--datastrip`` (the L2A datastrip), ``--tile`` (the L1C granule folder),
  ``--work_dir``, ``--output_dir``: "No argument for datastrip present.", "No argument for tile present.",
  "No argument for work directory present.", "Input datastrip does not exist.", "Input tile does not exist.",
  "No argument for output directory present.". It writes only ``<output_dir>/S2x_OPER_MSI_L2A_TL_<centre>_
  <creation>_A<orbit>_T<tile>_N<pb>/`` (centre and creation from the L2A datastrip, see
  :func:`sen2cor3.products.l2a.create_l2a_tile`), processed exactly as the toolbox mode processes the tile.
  A tile folder of that name already in the output directory: Sen2Cor logs "output tile already exists, no
  creation required" and ends with "Product already processed." (exit 0); so do we, leaving it untouched.
* Folder names: Sen2Cor classifies the ``--datastrip``/``--tile`` names by mask (``S2?_OPER_MSI_L1?_DS*`` /
  ``DS_MPS*``, ``S2?_OPER_MSI_L1?_TL*`` / ``L1?_T*``) and only logs an unknown one; we accept any folder holding
  the metadata (``MTD_DS.xml`` or ``S2?_*.xml``; ``MTD_TL.xml`` or ``S2?_OPER_MTD_L1C_TL_*.xml``) and take tile
  id, orbit and baseline from MTD_TL's TILE_ID, not from the folder name.
* Baseline: Sen2Cor reads ``--processing_baseline`` only in the toolbox mode; in these modes the baseline is
  the L2A_PB_GIPP's. We honour ``--processing_baseline`` for ``generate_datastrip`` (else the PB GIPP, as
  Sen2Cor) and give the tile the baseline of its L2A datastrip (PROCESSING_BASELINE), so that tile and
  datastrip ids always agree; a different ``--processing_baseline`` there is reported and not used. The same
  for ``--processing_centre``/``--archiving_centre`` in ``process_tile``: Sen2Cor takes both from the L2A
  datastrip (PROCESSING_CENTER, ARCHIVING_CENTRE; ``L2A_Config.getEntriesFromDatastrip``).
* Report: ``<work_dir>/<id>_<UTC yyyymmddThhmmss>_report.xml`` (Sen2Cor: the L1C datastrip folder name for
  ``generate_datastrip`` -- its ``replace('L1?', 'L2A')`` changes nothing -- and the L2A tile id for
  ``process_tile``), module names ``L2A_ProcessDataStrip`` / ``L2A_ProcessTilePdgs`` for this module's lines,
  "Operation mode: GENERATE_DATASTRIP" / "PROCESS_TILE", "Progress[%]:  0.00 : Generating datastrip metadata",
  "L2A datastrip successfully generated".
* Databases (``--img_database_dir``, ``--res_database_dir``, default the work dir): Sen2Cor keeps HDF5 image and
  result databases there. We have no such databases: the only intermediates of a tile run (the 10 m bands the
  20 m run decoded, parked for the 10 m run) go to a private folder in the result database directory, removed
  when the run ends; nothing is written to the image database directory. Both are created if missing (as
  Sen2Cor does) and removed again at the end if we created them and they are empty.
* Sen2Cor's pickled tile configuration ``<work_dir>/<tile id>.pic`` and its Product_Generator post-processing
  have no counterpart: each run is self-contained.

Everything is checked before anything is created; a failing run leaves its report in the work dir and nothing
in the output directory (the folders are built in a hidden staging folder and moved into place when complete).
"""
from __future__ import annotations

import argparse
import logging
import os
import shutil
import signal
from datetime import datetime, timezone
from pathlib import Path

from sen2cor3 import version as cli
from sen2cor3.errors import ProcessingError, Terminated

log = logging.getLogger("sen2cor3")

MODES = ("generate_datastrip", "process_tile")
#: Sen2Cor's operation-mode names (report line "Operation mode: ...") and report module names.
_OPERATION = {"generate_datastrip": "GENERATE_DATASTRIP", "process_tile": "PROCESS_TILE"}
_MODULE = {"generate_datastrip": "L2A_ProcessDataStrip", "process_tile": "L2A_ProcessTilePdgs"}


def _abs(path: str) -> Path:
    return Path(os.path.normpath(os.path.abspath(path)))


def check_args(args: argparse.Namespace) -> str | None:
    """One line when the flags of a ground-segment mode cannot run (Sen2Cor's checks and messages, in its
    order); None when they can. Nothing is created here."""
    mode = args.mode
    if mode not in MODES:
        return f"wrong operation mode: {mode}"
    if args.Hyper_MS:
        return f"--Hyper_MS: Hyper MS products are processed in the toolbox mode only (no --mode {mode})"
    if mode == "generate_datastrip":
        if not args.work_dir:
            return "No argument for work directory present (--mode generate_datastrip needs --work_dir)."
        if not args.datastrip:
            return "No argument for datastrip present (--datastrip <L1C datastrip folder>)."
        if not args.processing_centre:
            return "No argument for processing centre present (--processing_centre, e.g. SGS_)."
        if not args.archiving_centre:
            return "No argument for archiving centre present (--archiving_centre, e.g. SGS_)."
        if not _abs(args.datastrip).is_dir():
            return f"{_abs(args.datastrip)}: Input datastrip does not exist."
    else:
        if not args.datastrip:
            return "No argument for datastrip present (--datastrip <L2A datastrip folder>)."
        if not args.tile:
            return "No argument for tile present (--tile <L1C granule folder>)."
        if not args.work_dir:
            return "No argument for work directory present (--mode process_tile needs --work_dir)."
        if not _abs(args.datastrip).is_dir():
            return f"{_abs(args.datastrip)}: Input datastrip does not exist."
        if not _abs(args.tile).is_dir():
            return f"{_abs(args.tile)}: Input tile does not exist."
    if not args.output_dir:
        return f"No argument for output directory present (--mode {mode} needs --output_dir)."
    return None


class _ModuleName(logging.Filter):
    """Report lines of this module under Sen2Cor's module name (``L2A_ProcessDataStrip`` ...)."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.module_name = name

    def filter(self, record: logging.LogRecord) -> bool:
        if record.module == "ground_segment":
            record.module = self.module_name
        return True


def run(args: argparse.Namespace) -> int:
    """Run one ground-segment step; return the exit status (0 success, 1 failure, 130 interrupted)."""
    from sen2cor3.errors import InputError, RasterError
    from sen2cor3.io import report
    from sen2cor3.pipeline import _os_error_line, _raise_terminated, _report_error

    reason = check_args(args)
    if reason:
        _report_error(reason)
        return cli.EXIT_FAILURE
    previous_handler = signal.signal(signal.SIGTERM, _raise_terminated)
    name_filter = _ModuleName(_MODULE[args.mode])
    logging.getLogger("sen2cor3").addFilter(name_filter)
    status = cli.EXIT_FAILURE
    output_dir = _abs(args.output_dir)
    try:
        status = (_generate_datastrip if args.mode == "generate_datastrip" else _process_tile)(args)
    except Terminated as exc:
        _report_error(f"{exc}: run aborted, nothing written to the output directory")
    except KeyboardInterrupt:
        _report_error("interrupted by the user (Ctrl-C): run aborted, nothing written to the output directory")
        status = cli.EXIT_INTERRUPTED
    except (ProcessingError, InputError, RasterError) as exc:
        _report_error(str(exc))
    except OSError as exc:
        _report_error(_os_error_line(exc, output_dir))
    except Exception as exc:  # noqa: BLE001 - a bug of ours: one line for the user, the traceback in the report
        log.debug("internal error", exc_info=True)
        _report_error(f"--mode {args.mode}: internal error ({type(exc).__name__}: {exc}); run with --debug for "
                      "the traceback in the report")
    finally:
        signal.signal(signal.SIGTERM, previous_handler)
        report.finish(status == cli.EXIT_SUCCESS)
        logging.getLogger("sen2cor3").removeFilter(name_filter)
    return status


def _load_config(args: argparse.Namespace):
    from sen2cor3.config import load_config
    from sen2cor3.errors import GippError
    try:
        return load_config(args.GIP_L2A, args.GIP_L2A_SC, args.GIP_L2A_AC, args.GIP_L2A_PB)
    except GippError as exc:
        raise ProcessingError(str(exc)) from exc


def _prepare_dirs(output_dir: Path, work_dir: Path) -> None:
    from sen2cor3.pipeline import prepare_output_dir
    prepare_output_dir(output_dir)
    work_dir.mkdir(parents=True, exist_ok=True)


def _start_report(args: argparse.Namespace, work_dir: Path, report_id: str, when: datetime, config,
                  baseline: str):
    from sen2cor3.io import report
    run_log = report.setup_logging(work_dir, report_id, when, debug=args.debug,
                                   log_level=config.l2a.common.log_level)
    report.stream("%s started ..." % cli.PROCESSOR_ID_S2)
    report.stream("Product version: %s" % cli.PRODUCT_VERSION)
    report.stream("Operation mode: %s" % _OPERATION[args.mode])
    report.stream("Processing baseline: %s" % baseline)
    return run_log


# ------------------------------------------------------------------------------------------ generate_datastrip
def _generate_datastrip(args: argparse.Namespace) -> int:
    from lxml import etree

    from sen2cor3.io import report
    from sen2cor3.products.l1c import datastrip_mtd_file
    from sen2cor3.products.l2a import create_l2a_datastrip, l2a_datastrip_id
    from sen2cor3.products.l2a_metadata import GroundSegmentDatastrip
    from sen2cor3.products.staging import StagingArea, remove_stale_staging

    ds_dir, output_dir, work_dir = _abs(args.datastrip), _abs(args.output_dir), _abs(args.work_dir)
    mtd = datastrip_mtd_file(ds_dir)
    if mtd is None:
        raise ProcessingError(f"{ds_dir}: no datastrip metadata (MTD_DS.xml) in the datastrip folder")
    try:
        level = etree.QName(etree.parse(str(mtd)).getroot()).localname
    except etree.XMLSyntaxError as exc:
        raise ProcessingError(f"{mtd}: malformed XML ({str(exc).splitlines()[0] if str(exc) else 'syntax'})")
    if "Level-1C" not in level:
        raise ProcessingError(f"{mtd}: not a Level-1C datastrip (root <{level}>); --mode generate_datastrip "
                              "takes the L1C datastrip folder")
    config = _load_config(args)
    baseline = args.processing_baseline or config.pb.baseline_version
    generation_time = datetime.now(timezone.utc).replace(microsecond=0)
    try:
        ds_id = l2a_datastrip_id(mtd, generation_time=generation_time, baseline=baseline,
                                 processing_centre=args.processing_centre)
    except ValueError as exc:
        raise ProcessingError(str(exc)) from exc
    _prepare_dirs(output_dir, work_dir)
    remove_stale_staging(output_dir)
    _start_report(args, work_dir, ds_dir.name, generation_time, config, baseline)
    report.progress(0.0, "Generating datastrip metadata")
    common = config.l2a.common
    refs = config.sc.references
    gs = GroundSegmentDatastrip(
        creation=generation_time, processor_version=cli.PROCESSOR_VERSION,
        gipp_names={"GIP_L2ACSC": config.paths.sc.stem, "GIP_L2ACAC": config.paths.ac.stem,
                    "GIP_PROBA2": config.paths.pb.stem},
        product_doi=common.product_doi, dem_type=common.dem_reference if common.uses_dem else "None",
        aux_names=_aux_names(refs))
    with StagingArea(output_dir, ds_id) as stage:
        create_l2a_datastrip(mtd, stage.product_dir, generation_time=generation_time, baseline=baseline,
                             processing_centre=args.processing_centre, archiving_centre=args.archiving_centre,
                             ground_segment=gs)
        final = stage.commit()
    report.stream("L2A datastrip successfully generated")
    report.stream("L2A datastrip written: %s" % final)
    return cli.EXIT_SUCCESS


def _aux_names(refs) -> dict[str, str]:
    """SNOW_CLIMATOLOGY_MAP and the ESA CCI references: the GIPP names, 'None' for an ESA CCI map that is not in
    aux_data/ (Sen2Cor ``add_new_features``: ``os.path.isfile`` in its aux_data folder)."""
    from sen2cor3.auxdata import aux_root_default
    root = aux_root_default()
    out = {"SNOW_CLIMATOLOGY_MAP": refs.snow_map}
    for tag, name in (("ESACCI_WaterBodies_Map", refs.esacci_waterbodies_map),
                      ("ESACCI_LandCover_Map", refs.esacci_landcover_map),
                      ("ESACCI_SnowCondition_Map_Dir", refs.esacci_snowcondition_map_dir)):
        out[tag] = name if root is not None and (root / name).exists() else "None"
    return out


# ------------------------------------------------------------------------------------------------ process_tile
def _process_tile(args: argparse.Namespace) -> int:
    from sen2cor3.errors import InputError
    from sen2cor3.io import report
    from sen2cor3.plan import plan_for
    from sen2cor3.processing import OutputOptions, process_tile
    from sen2cor3.products.l2a import create_l2a_tile, finalize_l2a_tile, l2a_tile_name, read_l2a_datastrip
    from sen2cor3.products.staging import StagingArea, remove_stale_staging
    from sen2cor3.readers import apply_region_of_interest
    from sen2cor3.readers.s2_safe import open_s2_granule

    ds_dir, tile_dir = _abs(args.datastrip), _abs(args.tile)
    output_dir, work_dir = _abs(args.output_dir), _abs(args.work_dir)
    try:
        ds = read_l2a_datastrip(ds_dir)
    except ValueError as exc:
        raise ProcessingError(str(exc)) from exc
    try:
        config = _load_config(args)
        product = open_s2_granule(tile_dir, ds_dir)
        plan = plan_for(product.sensor, args.resolution, sc_only=args.sc_only,
                        downsample_20_to_60=config.l2a.common.downsample_20_to_60)
        product = apply_region_of_interest(product, config.l2a.common.region_of_interest)
    except InputError as exc:
        raise ProcessingError(str(exc)) from exc
    if product.mission_id != ds.mission:
        raise ProcessingError(f"{tile_dir}: a {product.mission_id} tile cannot be processed with the "
                              f"{ds.mission} datastrip {ds.datastrip_id}")
    tile_name = l2a_tile_name(product, ds)
    img_db = _abs(args.img_database_dir) if args.img_database_dir else work_dir
    res_db = _abs(args.res_database_dir) if args.res_database_dir else work_dir
    generation_time = datetime.now(timezone.utc).replace(microsecond=0)
    _prepare_dirs(output_dir, work_dir)
    created = [d for d in (img_db, res_db) if not d.exists()]
    for d in created:
        d.mkdir(parents=True, exist_ok=True)
    remove_stale_staging(output_dir)
    _start_report(args, work_dir, tile_name, generation_time, config, ds.baseline)
    if args.processing_baseline and args.processing_baseline != ds.baseline:
        log.warning("--processing_baseline %s is not used: the tile takes the baseline of its L2A datastrip (%s)",
                    args.processing_baseline, ds.baseline)
    for flag, value, used in (("processing_centre", args.processing_centre, ds.processing_centre),
                              ("archiving_centre", args.archiving_centre, ds.archiving_centre)):
        if value and value != used:            # Sen2Cor: getEntriesFromDatastrip overrides both
            log.warning("--%s %s is not used: the tile takes the centre of its L2A datastrip (%s)", flag, value, used)
    for note in product.warnings:
        log.warning("%s: %s", tile_dir, note)
    scratch = res_db / f".sen2cor3-{os.getpid()}-{tile_name}"
    try:
        if (output_dir / tile_name).exists():
            report.stream("output tile already exists, no creation required: %s" % (output_dir / tile_name))
            report.progress(100.0, "Product already processed.")
            return cli.EXIT_SUCCESS
        with StagingArea(output_dir, tile_name) as stage:
            report.progress(0.0, "Creating L2A tile")
            tile = create_l2a_tile(product, ds, stage.product_dir, generation_time=generation_time,
                                   resolutions=plan.outputs, image_ext=_image_ext(args),
                                   final_dir=output_dir / tile_name)
            qi_values = {}
            if not args.cr_only:
                results = process_tile(product, tile, config, plan=plan,
                                       options=OutputOptions(tif=args.tif, raw=args.raw, sc_cog=args.sc_cog,
                                                             sc_only=args.sc_only,
                                                             tci=config.l2a.common.generate_tci_output,
                                                             dem=config.l2a.common.generate_dem_output,
                                                             ddv=config.l2a.common.generate_ddv_output),
                                       classic=args.sc_classic, scratch_dir=scratch)
                qi_values = results.qi
            report.progress(95.0, "Writing L2A tile metadata")
            finalize_l2a_tile(tile, qi_values=qi_values)
            final = stage.commit()
        report.stream("L2A tile written: %s" % final)
        return cli.EXIT_SUCCESS
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        for d in reversed(created):               # database folders we made for nothing
            try:
                d.rmdir()
            except OSError:
                pass


def _image_ext(args: argparse.Namespace) -> str:
    return ".tif" if args.tif else (".rawl" if args.raw else ".jp2")
