"""The project's errors, in one place. Each carries one line naming the file and the fault; the pipeline prints
it as is, exits non-zero and leaves nothing behind. Anything else that escapes is a bug of ours."""
from __future__ import annotations


class Sen2Cor3Error(Exception):
    """Base of every run-stopping error with a user-facing one-line message."""


class ProcessingError(Sen2Cor3Error):
    """A run-stopping problem found by the pipeline (bad flag combination, unusable input or aux data)."""


class InputError(Sen2Cor3Error, RuntimeError):
    """The input is not a readable L1 product of a supported kind."""


#: Sentinel-2 / Hyper MS SAFE reader errors keep their historical name.
L1CError = InputError


class RasterError(Sen2Cor3Error, RuntimeError):
    """An image cannot be read or written (names the file)."""


class GippError(Sen2Cor3Error):
    """A GIPP file is missing, malformed or invalid (names the file and the element)."""


class AuxDataError(Sen2Cor3Error, RuntimeError):
    """Aux data the GIPP requires (Force_Exit_On_DEM_Error) is missing or unreadable."""


class Terminated(BaseException):
    """Raised from the SIGTERM handler so that staging clean-up runs like for Ctrl-C."""
