"""A pickle payload for the model-loading tests (core and algorithms alike)."""


class CreatesMarker:
    """Unpickling this opens (creates) a file: proof of whether a loader ran pickle code."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))
