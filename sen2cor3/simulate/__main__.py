"""Entry point of ``python -m sen2cor3.simulate`` (the command line lives in ``cli.py``)."""
import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
