"""One QgsProcessingAlgorithm per module; ALGORITHMS is what the provider registers."""

from .compare_methods import CompareMethods
from .evaluate_prospectivity import EvaluateProspectivity
from .export_block_model import ExportBlockModel
from .export_slices import ExportSlices
from .extract_targets import ExtractTargets
from .generate_synthetic import GenerateSyntheticPair
from .import_block_model import ImportBlockModel
from .predict_prospectivity import PredictProspectivity
from .setup_worker import SetupWorker
from .stack_slices import StackSlices
from .train_model import TrainModel
from .voxelise_samples import VoxeliseSamples
from .voxels_3d import ProspectivityVoxels

ALGORITHMS = [GenerateSyntheticPair, StackSlices, ExportSlices, ImportBlockModel, ExportBlockModel, TrainModel,
              PredictProspectivity, EvaluateProspectivity, CompareMethods, VoxeliseSamples, ExtractTargets,
              ProspectivityVoxels, SetupWorker]
