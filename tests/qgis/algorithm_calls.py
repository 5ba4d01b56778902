"""Running the plugin's algorithms in a test: one way to call them, one way to expect a refusal."""

import os

import pytest
from qgis.core import QgsProcessingException


def run(algorithm, parameters, feedback=None):
    """``processing.run`` with path-like values as strings, as a user's dialog or script would pass them."""
    import processing

    return processing.run(algorithm, {k: str(v) if isinstance(v, os.PathLike) else v
                                      for k, v in parameters.items()}, feedback=feedback)


def fails(algorithm, parameters, match, feedback=None):
    """The run ends in a QgsProcessingException matching ``match``, and never shows a traceback."""
    with pytest.raises(QgsProcessingException, match=match) as error:
        run(algorithm, parameters, feedback)
    assert "Traceback" not in str(error.value)
    return str(error.value)
