"""One QgsProcessingAlgorithm per module; ALGORITHMS is what the provider registers."""

from .export_slices import ExportSlices
from .generate_synthetic import GenerateSyntheticPair
from .stack_slices import StackSlices

ALGORITHMS = [GenerateSyntheticPair, StackSlices, ExportSlices]
