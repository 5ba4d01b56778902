"""Put the plugin folder on sys.path so the tests can ``import core`` without installing anything."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
