"""One QgsProcessingAlgorithm per module; ALGORITHMS is what the provider registers."""

from .evaluate_prospectivity import EvaluateProspectivity
from .export_slices import ExportSlices
from .generate_synthetic import GenerateSyntheticPair
from .predict_prospectivity import PredictProspectivity
from .stack_slices import StackSlices
from .train_model import TrainModel

ALGORITHMS = [GenerateSyntheticPair, StackSlices, ExportSlices, TrainModel, PredictProspectivity,
              EvaluateProspectivity]
