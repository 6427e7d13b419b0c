"""Logging, progress lines and the Sen2Cor run report (``<product>_<UTC time>_report.xml``).

What Sen2Cor 3 does, and we copy (its ``L2A_Logger``; the real report in
data/real_safe_metadata/*/rep_info/*_report.xml):

* The report is an XML file with root ``Sen2Cor_Level-2A_Report_File`` and one element per log record::

      <check>
      <inspection execution="2023-01-24T04:27:03.305" level=" INFO" process="15525" module="L2A_Tables"
       function="generate" line="366"/>
      <message contentType="Text">Progress[%]:  0.00 : Generating datastrip metadata</message>
      </check>

  ``execution`` is UTC ISO time with milliseconds; ``module`` is the source file name without ``.py``.
  Records go to disk as they are logged (a crash keeps everything up to it) and the closing tag is written
  when the run ends, successfully or not. Unlike Sen2Cor we XML-escape the text so the file always parses.
* Level names: Sen2Cor's console level 25 is called ``" INFO"`` (leading space) and 50 ``"FATAL"``; only
  records at 25 and above (progress lines, key steps, warnings, errors) are printed, as the bare message, on
  **stdout** (Sen2Cor's stream handler). Everything at the GIPP ``Log_Level`` (DEBUG with ``--debug``) goes to
  the report and to a plain-text log beside it. ``--debug`` also prints every DEBUG record on the console.
* Progress lines ``Progress[%]: nn.nn : <step>`` and the last line ``Progress[%]: 100.00 : Application
  terminated successfully.`` (or ``... with at least one error.``). When stderr is a terminal a one-line
  progress bar is drawn there as well; it never reaches the log files.

Call :func:`setup_logging` once in the main process; modules log with ``logging.getLogger(__name__)`` (the
``sen2cor3`` logger tree). Worker processes should return their messages rather than log into the report.
"""
from __future__ import annotations

import atexit
import logging
import os
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import TextIO
from xml.sax.saxutils import escape

__all__ = ["FATAL", "STREAM", "RunLog", "copy_report_into", "finish", "progress", "report_file_name",
           "setup_logging", "stream"]

#: Sen2Cor's console level (printed on stdout, named " INFO" in the report).
STREAM = 25
#: Sen2Cor's fatal level name for 50.
FATAL = 50
LOGGER_NAME = "sen2cor3"
_LEVEL_NAMES = {STREAM: " INFO", FATAL: "FATAL"}
_ATTR = {'"': "&quot;", "\n": "&#10;"}
_CLOSE = "</Sen2Cor_Level-2A_Report_File>"
SUCCESS_LINE = "Application terminated successfully."
FAILURE_LINE = "Application terminated with at least one error."

_current: RunLog | None = None


def _utc_iso(created: float) -> str:
    """Sen2Cor's report time stamp: UTC, ISO, milliseconds."""
    t = time.gmtime(created)
    return time.strftime("%Y-%m-%dT%H:%M:%S", t) + f".{int(created * 1000) % 1000:03d}"


def _level_name(record: logging.LogRecord) -> str:
    return _LEVEL_NAMES.get(record.levelno, record.levelname)


def report_file_name(product_id: str, when: datetime) -> str:
    """``<product_id>_<UTC yyyymmddThhmmss>_report.xml`` (Sen2Cor keeps ``.SAFE`` in the id, see real file).

    A naive ``when`` is taken as UTC."""
    utc = when.replace(tzinfo=timezone.utc) if when.tzinfo is None else when.astimezone(timezone.utc)
    return f"{product_id}_{utc:%Y%m%dT%H%M%S}_report.xml"


class _ReportHandler(logging.Handler):
    """Appends each record as a ``check`` element and flushes, so the report survives a crash."""

    def __init__(self, path: Path, level: int) -> None:
        super().__init__(level)
        self.path = path
        self.copies: list[Path] = []
        self._fh: TextIO | None = open(path, "w", encoding="utf-8")
        self._fh.write('<?xml version="1.0" encoding="UTF-8"?>\n<Sen2Cor_Level-2A_Report_File>\n')
        self._fh.flush()

    def snapshot(self, dest: Path) -> None:
        """Write the report so far, closed, to ``dest`` (a well-formed copy while the run goes on)."""
        with self.lock:
            text = self.path.read_text(encoding="utf-8")
        if not text.endswith(_CLOSE):
            text += _CLOSE
        tmp = dest.with_name(f".{dest.name}.part")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, dest)

    def emit(self, record: logging.LogRecord) -> None:
        if self._fh is None:
            return
        try:
            attrs = (("execution", _utc_iso(record.created)), ("level", _level_name(record)),
                     ("process", str(record.process)), ("module", record.module),
                     ("function", record.funcName), ("line", str(record.lineno)))
            text = record.getMessage()
            if record.exc_info and self.level <= logging.DEBUG:
                text += "\n" + logging.Formatter().formatException(record.exc_info)
            inspection = " ".join(f'{k}="{escape(str(v), _ATTR)}"' for k, v in attrs)
            self._fh.write(f'<check>\n<inspection {inspection}/>\n'
                           f'<message contentType="Text">{escape(text)}</message>\n</check>\n')
            self._fh.flush()
        except Exception:
            self.handleError(record)

    def close(self) -> None:
        with self.lock:
            if self._fh is not None:
                self._fh.write(_CLOSE)                    # no final newline, as Sen2Cor
                self._fh.flush()
                os.fsync(self._fh.fileno())
                self._fh.close()
                self._fh = None
        super().close()


class _UTCFormatter(logging.Formatter):
    converter = time.gmtime

    def format(self, record: logging.LogRecord) -> str:
        record.s2c_level = _level_name(record).strip()
        return super().format(record)

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return _utc_iso(record.created)


class _ConsoleHandler(logging.StreamHandler):
    """Sen2Cor's console lines on stdout, plus an optional progress bar on a terminal's stderr."""

    def __init__(self, stream: TextIO, bar: bool) -> None:
        super().__init__(stream)
        self.bar = bar
        self._bar_text = ""

    def clear_bar(self) -> None:
        if self._bar_text:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()
            self._bar_text = ""

    def draw_bar(self, percent: float, step: str) -> None:
        if not self.bar:
            return
        width = 30
        done = int(round(width * max(0.0, min(percent, 100.0)) / 100.0))
        self._bar_text = f"[{'#' * done}{'.' * (width - done)}] {percent:6.2f}% {step[:60]}"
        sys.stderr.write("\r\x1b[K" + self._bar_text)
        sys.stderr.flush()

    def emit(self, record: logging.LogRecord) -> None:
        bar = self._bar_text
        self.clear_bar()
        super().emit(record)
        self.flush()
        if bar and getattr(record, "progress", None) is None:
            sys.stderr.write(bar)
            sys.stderr.flush()
            self._bar_text = bar


class RunLog:
    """The logging of one run: logger, report and plain log paths, progress, and the final status."""

    def __init__(self, logger: logging.Logger, report: _ReportHandler, plain: logging.FileHandler,
                 console: _ConsoleHandler) -> None:
        self.logger = logger
        self.report_path = report.path
        self.log_path = Path(plain.baseFilename)
        self._report = report
        self._plain = plain
        self._console = console
        self.finished = False
        self.success: bool | None = None
        self._last_step = ""

    def stream(self, msg: str, *args: object) -> None:
        """Log at Sen2Cor's console level (shown on stdout, ``" INFO"`` in the report)."""
        self.logger.log(STREAM, msg, *args, stacklevel=2)

    def progress(self, percent: float, step: str, *, _stacklevel: int = 2) -> None:
        """Log ``Progress[%]: nn.nn : step`` (and move the terminal bar)."""
        self.logger.log(STREAM, "Progress[%%]: %5.2f : %s", percent, step, stacklevel=_stacklevel,
                        extra={"progress": percent})
        self._last_step = f"{percent:.2f}:{step}"
        self._console.draw_bar(percent, step)
        try:
            (self.report_path.parent / ".progress").write_text(f"{percent:.2f}\n")
        except OSError:
            pass

    def copy_report_into(self, folder: str | os.PathLike, name: str | None = None) -> Path:
        """Put the report (closed, well-formed) into ``folder`` (the product's rep_info), under its own name
        (or ``name``).

        The copy is refreshed with the complete report at :meth:`finish` if the folder still exists.
        """
        dest = Path(folder) / (name or self.report_path.name)
        dest.parent.mkdir(parents=True, exist_ok=True)
        self._report.snapshot(dest)
        self._report.copies.append(dest)
        return dest

    def finish(self, success: bool, reason: str | None = None, *, _stacklevel: int = 2) -> Path:
        """End the run: final progress line, closed report (also on failure). Returns the report path.

        On failure ``reason`` (if given; else the last error already logged) is logged at FATAL and is the
        last message of the report; the "terminated with at least one error" line then goes to the console
        and plain log only. The success line is not repeated if the caller already logged it.
        """
        if self.finished:
            return self.report_path
        self.finished, self.success = True, success
        if success:
            if self._last_step != f"100.00:{SUCCESS_LINE}":
                self.logger.log(STREAM, "Progress[%%]: 100.00 : %s", SUCCESS_LINE, stacklevel=_stacklevel,
                                extra={"progress": 100.0})
            self._close_report()
        else:
            if reason:
                self.logger.log(FATAL, reason, stacklevel=_stacklevel)
            self._close_report()
            self.logger.log(STREAM, "Progress[%%]: 100.00 : %s", FAILURE_LINE, stacklevel=2,
                            extra={"progress": 100.0})
        self._console.clear_bar()
        for h in (self._plain, self._console):
            self.logger.removeHandler(h)
            h.close()
        return self.report_path

    def _close_report(self) -> None:
        self.logger.removeHandler(self._report)
        self._report.close()
        for dest in self._report.copies:
            if dest.parent.is_dir():
                self._report.snapshot(dest)

    def __enter__(self) -> RunLog:
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc is None:
            self.finish(True)
        elif not self.finished:
            self.logger.debug("traceback of the failure", exc_info=(exc_type, exc, tb))
            text = str(exc).strip().splitlines()
            reason = f"{exc_type.__name__}: {text[0]}" if text else exc_type.__name__
            self.finish(False, reason, _stacklevel=3)
        return False                              # never swallow the exception


def _level(name: str) -> int:
    level = logging.getLevelName(str(name).strip().upper())
    if not isinstance(level, int):
        raise ValueError(f"unknown log level {name!r}; use NOTSET, DEBUG, INFO, WARNING, ERROR or CRITICAL")
    return level


def setup_logging(work_dir: str | os.PathLike, product_id: str, when: datetime | None = None, *,
                  debug: bool = False, log_level: str = "INFO", console: TextIO | None = None) -> RunLog:
    """Start the run's logging: stdout console, plain log and XML report in ``work_dir``.

    ``product_id`` names the report (pass the L2A product folder name, e.g. ``S2B_MSIL2A_..._T01UBT_...SAFE``,
    as Sen2Cor does); ``when`` stamps it (default now, UTC). ``log_level`` is the GIPP ``Log_Level``;
    ``debug`` forces DEBUG everywhere. ``console`` replaces stdout (tests). Calling it again replaces the
    previous run's handlers (the previous report is closed as failed).
    """
    global _current
    if when is not None and not isinstance(when, datetime):
        raise TypeError(f"when must be a datetime, got {type(when).__name__} (debug/log_level are keywords)")
    if _current is not None and not _current.finished:
        _current.finish(False, "logging restarted before the run ended")
    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    when = when or datetime.now(timezone.utc)
    file_level = logging.DEBUG if debug else _level(log_level)
    console_level = logging.DEBUG if debug else STREAM

    logger = logging.getLogger(LOGGER_NAME)
    for h in [h for h in logger.handlers if getattr(h, "_sen2cor3", False)]:
        logger.removeHandler(h)
        h.close()
    logger.setLevel(min(file_level, console_level) or logging.DEBUG)
    logger.propagate = False

    report = _ReportHandler(work_dir / report_file_name(product_id, when), file_level)
    plain = logging.FileHandler(work_dir / report.path.name.replace("_report.xml", ".log"), "w", "utf-8")
    plain.setLevel(file_level)
    plain.setFormatter(_UTCFormatter("%(asctime)s %(s2c_level)-7s %(process)d %(module)s:%(lineno)d %(message)s"))
    stream = console if console is not None else sys.stdout
    con = _ConsoleHandler(stream, bar=console is None and sys.stderr.isatty())
    con.setLevel(console_level)
    con.setFormatter(logging.Formatter(" %(module).12s : %(lineno)s  %(message)s" if debug else "%(message)s"))
    for h in (report, plain, con):
        h._sen2cor3 = True  # type: ignore[attr-defined]
        logger.addHandler(h)
    _current = RunLog(logger, report, plain, con)
    logger.info("logging for the main process initialized")
    return _current


def stream(msg: str, *args: object) -> None:
    """Module-level shortcut: a line at Sen2Cor's console level (stdout and ``" INFO"`` in the report)."""
    logging.getLogger(LOGGER_NAME).log(STREAM, msg, *args, stacklevel=2)


def finish(success: bool, reason: str | None = None) -> Path | None:
    """Module-level shortcut: end the current run (no-op when logging was never set up)."""
    if _current is None or _current.finished:
        return None
    return _current.finish(success, reason, _stacklevel=3)


def copy_report_into(run: RunLog | None, folder: str | os.PathLike, name: str | None = None) -> Path | None:
    """Module-level shortcut for :meth:`RunLog.copy_report_into` (the current run when ``run`` is None)."""
    run = run or _current
    return None if run is None else run.copy_report_into(folder, name)


def progress(percent: float, step: str) -> None:
    """Module-level shortcut: progress line of the current run (plain log record if none is set up)."""
    if _current is not None and not _current.finished:
        _current.progress(percent, step, _stacklevel=3)
    else:
        logging.getLogger(LOGGER_NAME).log(STREAM, "Progress[%%]: %5.2f : %s", percent, step, stacklevel=2)


@atexit.register
def _close_at_exit() -> None:
    """A run that ends without :meth:`RunLog.finish` still gets a closed, parseable report."""
    if _current is not None and not _current.finished:
        _current.finish(False, "run ended without a final status")
