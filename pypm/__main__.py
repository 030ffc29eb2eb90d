"""Entry point for ``python -m pypm``."""

import sys

from pypm.cli.main import main

sys.exit(main())
