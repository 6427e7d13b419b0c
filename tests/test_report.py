"""Run report XML, console lines and progress, success and failure."""
from __future__ import annotations

import io
import logging
import re

import pytest
from lxml import etree

from sen2cor3.io.report import progress, setup_logging

PRODUCT = "S2A_MSIL2A_20230101T101010_N9999_R022_T32TQM_20250101T120000.SAFE"
ATTRS = ["execution", "level", "process", "module", "function", "line"]


def _checks(path):
    root = etree.parse(str(path)).getroot()
    assert root.tag == "Sen2Cor_Level-2A_Report_File"
    out = []
    for check in root:
        assert check.tag == "check"
        insp, msg = check
        assert insp.tag == "inspection" and list(insp.attrib) == ATTRS
        assert msg.tag == "message" and msg.get("contentType") == "Text"
        out.append((dict(insp.attrib), msg.text or ""))
    return out


def test_report_success(tmp_path):
    console = io.StringIO()
    run = setup_logging(tmp_path, PRODUCT, console=console)
    log = logging.getLogger("sen2cor3.sc.scene")
    with run:
        run.stream("Operation mode: TOOLBOX")
        log.info("validating <MTD_TL.xml> & friends")
        log.debug("not at INFO")
        progress(0, "Generating datastrip metadata")
        run.progress(42.5, "L2A_Tables: band B02 exported")
    assert re.fullmatch(re.escape(PRODUCT) + r"_\d{8}T\d{6}_report\.xml", run.report_path.name)
    checks = _checks(run.report_path)
    messages = [m for _, m in checks]
    assert "validating <MTD_TL.xml> & friends" in messages
    assert "not at INFO" not in messages
    assert "Progress[%]:  0.00 : Generating datastrip metadata" in messages
    assert messages[-1] == "Progress[%]: 100.00 : Application terminated successfully."
    attrs = dict(checks[messages.index("Progress[%]: 42.50 : L2A_Tables: band B02 exported")][0])
    assert attrs["level"] == " INFO" and attrs["module"] == "test_report"
    assert attrs["function"] == "test_report_success" and attrs["line"].isdigit()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}", attrs["execution"])
    info = checks[messages.index("validating <MTD_TL.xml> & friends")][0]
    assert info["level"] == "INFO" and info["module"] == "test_report"
    # console: Sen2Cor's lines only (level 25 and up), bare messages
    lines = console.getvalue().splitlines()
    assert lines == ["Operation mode: TOOLBOX", "Progress[%]:  0.00 : Generating datastrip metadata",
                     "Progress[%]: 42.50 : L2A_Tables: band B02 exported",
                     "Progress[%]: 100.00 : Application terminated successfully."]
    assert "validating" in run.log_path.read_text()
    assert run.report_path.read_text().endswith("</Sen2Cor_Level-2A_Report_File>")


def test_report_written_on_failure(tmp_path):
    console = io.StringIO()
    run = setup_logging(tmp_path, PRODUCT, console=console)
    with pytest.raises(FileNotFoundError):
        with run:
            progress(10, "scene classification")
            raise FileNotFoundError("DEM tile N45E009 not found")
    checks = _checks(run.report_path)
    attrs, last = checks[-1]
    assert last == "FileNotFoundError: DEM tile N45E009 not found"
    assert attrs["level"] == "FATAL"
    assert console.getvalue().splitlines()[-1] == \
        "Progress[%]: 100.00 : Application terminated with at least one error."
    assert run.success is False


def test_debug_and_restart(tmp_path):
    console = io.StringIO()
    first = setup_logging(tmp_path / "a", PRODUCT, console=console)
    second = setup_logging(tmp_path / "b", PRODUCT, debug=True, console=console)
    assert first.finished and _checks(first.report_path)[-1][1] == "logging restarted before the run ended"
    logging.getLogger("sen2cor3.ac").debug("visibility %d km", 40)
    second.finish(True)
    assert "visibility 40 km" in [m for _, m in _checks(second.report_path)]
    assert "visibility 40 km" in console.getvalue()               # --debug prints DEBUG too
    with pytest.raises(ValueError):
        setup_logging(tmp_path / "c", PRODUCT, log_level="LOUD")


def test_copy_into_product_and_module_level_finish(tmp_path):
    from datetime import datetime

    from sen2cor3.io import report

    when = datetime(2025, 1, 1, 12, 0, 0)
    run = setup_logging(tmp_path / "work", PRODUCT, when, console=io.StringIO())
    assert run.report_path.name == f"{PRODUCT}_20250101T120000_report.xml"
    rep_info = tmp_path / "product" / "rep_info"
    copy = report.copy_report_into(run, rep_info)
    assert copy == rep_info / run.report_path.name
    assert _checks(copy)[0][1] == "logging for the main process initialized"    # well-formed mid-run
    report.progress(100.0, "Application terminated successfully.")
    assert report.finish(True) == run.report_path
    assert report.finish(True) is None                                          # already finished
    final = [m for _, m in _checks(copy)]                                       # refreshed at the end
    assert final.count("Progress[%]: 100.00 : Application terminated successfully.") == 1
    assert final == [m for _, m in _checks(run.report_path)]
    with pytest.raises(TypeError):
        setup_logging(tmp_path, PRODUCT, True)


def test_failure_after_logged_error_keeps_it_last(tmp_path):
    from sen2cor3.io import report

    run = setup_logging(tmp_path, PRODUCT, console=io.StringIO())
    logging.getLogger("sen2cor3.pipeline").error("T32TQM_B02.jp2: cannot decode band 1")
    report.finish(False)
    attrs, last = _checks(run.report_path)[-1]
    assert (attrs["level"], last) == ("ERROR", "T32TQM_B02.jp2: cannot decode band 1")
