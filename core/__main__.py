"""``python -m core ...`` from the plugin folder: the core's command line (also the worker)."""

import sys

from .cli import main

sys.exit(main())
