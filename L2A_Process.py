#!/usr/bin/env python3
"""Sen2Cor 3 compatible front end: ``python L2A_Process.py [options] input_dir`` (see ``--help``)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # run from a clone without installing

from sen2cor3.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
