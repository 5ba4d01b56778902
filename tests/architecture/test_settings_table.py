"""Every training and prediction setting is declared once, in core/settings.py: the command line, TrainConfig
and the QGIS algorithms are built from that table, so a setting declared anywhere else fails here."""

import ast
import dataclasses
import os

import pytest
from mpm3d.core import cli
from mpm3d.core.errors import Mpm3dError
from mpm3d.core.learning.modelfile import PATCH_SIZE
from mpm3d.core.settings import DEFAULTS, PREDICTION, TRAINING, TrainConfig, check, setting

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Options of the command's own, not settings: its inputs and outputs.
PATH_OPTIONS = {"train": {"--source", "--target", "--target-holes", "--out", "--report"},
                "predict": {"--model", "--cube", "--out-cube", "--out-folder"}}
INTERNAL_FIELDS = {"weight_decay": 1e-4, "target_normalisation": "own", "members_together": None}


def _options(command: str) -> dict:
    parser = cli.build_parser()
    sub = next(action for action in parser._actions if action.dest == "command").choices[command]
    return {action.option_strings[0]: action for action in sub._actions if action.option_strings
            and action.option_strings[0] != "-h"}


@pytest.mark.parametrize("command, table", [("train", TRAINING), ("predict", PREDICTION)])
def test_the_command_line_options_are_the_table(command, table):
    options = _options(command)
    assert set(options) - PATH_OPTIONS[command] == {entry.option for entry in table}
    for entry in table:
        action = options[entry.option]
        assert (action.dest, action.default) == (entry.field, entry.default), entry.name
        assert tuple(action.choices or ()) == entry.choices, entry.name


def test_train_config_is_the_table_plus_three_internal_fields():
    fields = {field.name: field.default for field in dataclasses.fields(TrainConfig)}
    assert fields == {**{entry.field: entry.default for entry in TRAINING}, **INTERNAL_FIELDS}
    assert DEFAULTS == {entry.field: entry.default for entry in TRAINING}


def test_one_bound_and_one_default_per_setting():
    """The bounds the issue found differing between layers: the model file's patch size and the members."""
    assert (PATCH_SIZE.minimum, PATCH_SIZE.maximum) == (3, 31) and PATCH_SIZE is setting("PATCH_SIZE")
    assert TrainConfig().members == 0 == setting("ENSEMBLE_MEMBERS").default  # 0: automatic, everywhere


@pytest.mark.parametrize("name, value, message", [
    ("PATCH_SIZE", 33, r"^the patch size \(PATCH_SIZE\) must be an odd whole number from 3 to 31, got 33$"),
    ("PATCH_SIZE", 8, r"odd whole number"),
    ("ENSEMBLE_MEMBERS", 2.5, r"^ENSEMBLE_MEMBERS must be a whole number, got 2.5$"),
    ("ENSEMBLE_MEMBERS", 51, r"ensemble members \(ENSEMBLE_MEMBERS\) must be a whole number from 0 to 50, got 51"),
    ("LEARNING_RATE", float("inf"), r"^LEARNING_RATE must be a finite number, got inf$"),
    ("SELECTION", "best", r"^unknown epoch selection rule \(SELECTION\) 'best'; choose one of source_val, entropy"),
])
def test_a_bad_value_is_refused_by_its_parameter_name(name, value, message):
    config = dataclasses.replace(TrainConfig(), **{setting(name).field: value})
    with pytest.raises(Mpm3dError, match=message):
        check(config, TRAINING)


def _hand_made_parameters(path: str) -> list[str]:
    """QGIS parameters of a kind the table makes, constructed by hand in an algorithm file."""
    made = ("QgsProcessingParameterNumber", "QgsProcessingParameterEnum", "QgsProcessingParameterBoolean",
            "QgsProcessingParameterString")
    tree = ast.parse(open(path, encoding="utf-8").read(), path)
    return [node.args[0].value for node in ast.walk(tree) if isinstance(node, ast.Call)
            and getattr(node.func, "id", None) in made and node.args and isinstance(node.args[0], ast.Constant)]


@pytest.mark.parametrize("algorithm", ["train_model.py", "predict_prospectivity.py"])
def test_the_training_and_prediction_algorithms_declare_no_setting_of_their_own(algorithm):
    assert _hand_made_parameters(os.path.join(REPO, "algorithms", algorithm)) == []



def test_the_shipped_chain_takes_its_settings_help_from_the_table():
    """The chain's method, epochs and patch size once had a help text of their own beside the table's; a setting's
    help written again in scripts/build_model3.py fails here."""
    path = os.path.join(REPO, "scripts", "build_model3.py")
    tree = ast.parse(open(path, encoding="utf-8").read(), path)
    assigned = {node.targets[0].id: node.value for node in tree.body
                if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)}
    own_help = {key.value for key in assigned["PARAMETER_HELP"].keys}
    chain_settings = {element.value for element in assigned["CHAIN_SETTINGS"].elts}
    assert chain_settings == {"METHOD", "EPOCHS", "PATCH_SIZE"} and all(setting(name) for name in chain_settings)
    assert own_help and not own_help & {name.lower() for name in chain_settings}
