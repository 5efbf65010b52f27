"""Config composition, precedence, the schema's refusals and the semantic checks, through Hydra's compose
API; the model the default recipes build."""

import importlib.util
import re

import pytest
from hydra.errors import ConfigCompositionException
from omegaconf import OmegaConf
from omegaconf.errors import ConfigAttributeError, ValidationError

from fcbaseline import models as model_module
from fcbaseline.config import ConfigError, hidden_activations, validate
from fcbaseline.data.splits import validation_mode
from tests.helpers import compose_config


def test_default_is_the_mnist_recipe():
    config = compose_config()
    assert config.dataset.name == "mnist"
    assert list(config.model.hidden_sizes) == [256, 128]
    assert config.model.activation == "sigmoid"
    assert config.optimizer.name == "sgd" and config.optimizer.lr == 0.01 and config.optimizer.momentum == 0.0
    assert config.training.epochs == 100 and config.training.batch_size == 128
    assert config.training.validation == "auto"  # the test set for a single run, as the recipe does
    assert validation_mode(config.training.validation, in_sweep=False) == "test"
    assert validation_mode(config.training.validation, in_sweep=True) == "split"
    validate(config)


def test_choosing_cifar10_brings_its_recipe():
    config = compose_config(["dataset=cifar10"])
    assert list(config.model.hidden_sizes) == [1024, 512]
    assert config.model.activation == "relu"
    assert config.training.batch_size == 32
    assert config.optimizer.lr == 0.01 and config.training.epochs == 100
    assert len(config.dataset.class_names) == 10 and config.dataset.class_names[0] == "airplane"


def test_command_line_wins_over_the_dataset_recipe_in_either_order():
    overrides = ["model.hidden_sizes=[512,256]", "training.epochs=5", "optimizer.lr=0.005", "training.batch_size=64"]
    for ordered in (["dataset=cifar10", *overrides], [*overrides, "dataset=cifar10"]):
        config = compose_config(ordered)
        assert list(config.model.hidden_sizes) == [512, 256]
        assert config.model.activation == "relu"  # not overridden: still the recipe's
        assert config.training.epochs == 5 and config.training.batch_size == 64
        assert config.optimizer.lr == 0.005


def test_recipe_field_override_flows_into_model():
    config = compose_config(["dataset.recipe.activation=tanh"])
    assert config.model.activation == "tanh"


def test_activation_list_one_per_layer():
    config = compose_config(["model.hidden_sizes=[64,32,16]", "model.activation=[relu,tanh,sigmoid]"])
    validate(config)
    assert hidden_activations(config.model) == ["relu", "tanh", "sigmoid"]


def test_adam_brings_its_own_fields_and_refuses_sgd_ones():
    config = compose_config(["optimizer=adam"])
    assert config.optimizer.lr == 0.001 and config.optimizer.beta_1 == 0.9
    assert "momentum" not in config.optimizer
    with pytest.raises(ConfigCompositionException) as raised:
        compose_config(["optimizer=adam", "optimizer.momentum=0.9"])
    # refused by Adam's own schema, which has no such field (the SGD schema has one)
    assert isinstance(raised.value.__cause__, ConfigAttributeError)
    assert "not in 'AdamConfig'" in str(raised.value.__cause__)
    assert compose_config(["optimizer=sgd", "optimizer.momentum=0.9"]).optimizer.momentum == 0.9


@pytest.mark.parametrize(
    "override, refusal, message",
    [
        ("optimizer.lrr=0.1", ConfigAttributeError, r"Key 'lrr' not in 'SGDConfig'"),
        ("optimizer.lr=fast", ValidationError, r"'fast' of type 'str' could not be converted to Float"),
        ("training.epochs=ten", ValidationError, r"'ten' of type 'str' could not be converted to Integer"),
        ("dataset.nme=mnist", ConfigAttributeError, r"Key 'nme' not in 'DatasetConfig'"),
    ],
)
def test_schema_refuses_unknown_keys_and_wrong_types(override, refusal, message):
    """Hydra refuses while composing; OmegaConf's error beneath names the schema or the type expected."""
    with pytest.raises(ConfigCompositionException) as raised:
        compose_config([override])
    cause = raised.value.__cause__
    assert isinstance(cause, refusal), repr(cause)
    assert cause.full_key == override.split("=")[0]
    assert re.search(message, str(cause)), str(cause)  # the schema's words, not an echo of the override


@pytest.mark.parametrize(
    "overrides, message",
    [
        (["model.hidden_sizes=[]", "model.dropout=[0.1]"], "1 rates but model.hidden_sizes has 0"),
        (["model.hidden_sizes=[256,0]"], r"model.hidden_sizes\[1\]=0"),
        (["model.activation=sigmoidd"], "Did you mean 'sigmoid'"),
        (["model.activation=[relu]"], "1 names but model.hidden_sizes has 2"),
        (["model.activation=[relu,foo]"], r"model.activation\[1\]='foo'"),
        (["optimizer.lr=-0.1"], "optimizer.lr=-0.1 must be > 0"),
        (["optimizer.lr=0"], "optimizer.lr=0.0 must be > 0"),
        (["training.epochs=0"], "training.epochs=0 must be a positive"),
        (["training.batch_size=-1"], "training.batch_size=-1 must be a positive"),
        (["training.validation=train"], "training.validation='train'"),
        (["training.validation_fraction=1.5"], "validation_fraction=1.5"),
        (["dataset.name=mnistt"], "Did you mean 'mnist'"),
        *[  # the best model's file stays inside the run folder and never takes a run file's name
            (
                ["training.callbacks=[model_checkpoint]", f"training.model_checkpoint.filename={name}"],
                "must be a plain file name ending in .keras",
            )
            for name in ("/elsewhere/important.keras", "../up.keras", "sub/best.keras", "best", "model.keras")
        ],
    ],
)
def test_semantic_checks_name_the_key_and_the_fix(overrides, message):
    with pytest.raises(ConfigError, match=message):
        validate(compose_config(overrides))


def test_built_model_matches_the_recipe():
    config = compose_config()
    network = model_module.build_model(config.model, (28, 28), 10)
    dense = [layer for layer in network.layers if hasattr(layer, "units")]
    assert [layer.units for layer in dense] == [256, 128, 10]
    assert [layer.activation.__name__ for layer in dense] == ["sigmoid", "sigmoid", "softmax"]
    assert network.count_params() == 784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10
    assert network.input_shape == (None, 28, 28)  # raw uint8 images in: scaled and flattened inside
    assert network.get_config()["layers"][0]["config"]["dtype"] == "uint8"
    assert model_module.describe(config.model, (28, 28), 10) == "784-256-128-10 sigmoid"
    cifar = compose_config(["dataset=cifar10"])
    assert (
        model_module.build_model(cifar.model, (32, 32, 3), 10).count_params()
        == 3072 * 1024 + 1024 + 1024 * 512 + 512 + 5130
    )
    assert OmegaConf.to_container(cifar.model, resolve=True)["hidden_sizes"] == [1024, 512]


@pytest.mark.parametrize("experiment", ["cifar10_regularized", "mnist_regularized"])
def test_experiments_compose_and_choose_on_a_validation_split(experiment):
    config = compose_config([f"+experiment={experiment}"])
    validate(config)
    assert config.training.validation == "split"  # early stopping picks its epoch without the test set
    assert config.training.early_stopping.monitor.startswith("val_") and "early_stopping" in config.training.callbacks
    overridden = compose_config([f"+experiment={experiment}", "training.epochs=3"])  # the command line still wins
    assert overridden.training.epochs == 3


def test_mlflow_missing_is_a_config_error_naming_the_extra(monkeypatch):
    config = compose_config(["tracking=mlflow"])
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "mlflow" else real_find_spec(name, *a)
    )
    with pytest.raises(ConfigError, match=r"pip install -e '\.\[mlflow\]'.*tracking=tensorboard"):
        validate(config)
    validate(compose_config(["tracking=tensorboard"]))


@pytest.mark.parametrize(
    "overrides, message",
    [  # every numeric field is checked against the range its schema declares, NaN and infinity included
        (["training.seed=-1"], r"training.seed=-1 is out of range: it must be a whole number in \[0, 4294967295\]"),
        (["training.seed=99999999999"], r"in \[0, 4294967295\]"),
        (["dataset.split_seed=-1"], r"dataset.split_seed=-1 is out of range"),
        (
            ["optimizer.momentum=-0.5"],
            r"optimizer.momentum=-0.5 is out of range: it must be a finite number in \[0, 1\)",
        ),
        (["optimizer=adam", "optimizer.beta_1=1.5"], r"optimizer.beta_1=1.5 is out of range"),
        (
            ["optimizer=adam", "optimizer.epsilon=0"],
            r"optimizer.epsilon=0.0 is out of range: it must be a finite number > 0",
        ),
        (["optimizer=adamw", "optimizer.weight_decay=-5"], r"optimizer.weight_decay=-5.0 is out of range"),
        (["optimizer=rmsprop", "optimizer.rho=1"], r"optimizer.rho=1.0 is out of range"),
        (["optimizer.lr=inf"], r"optimizer.lr=inf is out of range: it must be a finite number > 0"),
        (["model.l2=nan"], r"model.l2=nan is out of range: it must be a finite number >= 0"),
        (["optimizer.schedule.min_lr=-1"], r"optimizer.schedule.min_lr=-1.0 is out of range"),
        (["training.callbacks=[early_stopping]", "training.early_stopping.min_delta=-1"], r"min_delta=-1.0 is out"),
        (["training.threads=0"], r"training.threads=0 must be a positive number of threads"),  # its own check first
    ],
)
def test_values_outside_their_declared_range_are_refused(overrides, message):
    with pytest.raises(ConfigError, match=message):
        validate(compose_config(overrides))


@pytest.mark.parametrize(
    "override, message",
    [  # `+key=value` adds a key Hydra does not know either: refused like any unknown key, with the closest one
        ("+training.foo=3", r"training.foo is not a config key. .*training has: epochs, batch_size"),
        ("+optimizer.momentun=0.9", r"optimizer.momentun is not a config key. Did you mean 'momentum'\?"),
        ("+model.dropuot=0.1", r"model.dropuot is not a config key. Did you mean 'dropout'\?"),
        ("+foo=1", r"foo is not a config key. The config has: dataset, model, optimizer"),
        ("optimizer.name=adam", r"does not match the chosen optimizer config"),  # a renamed block, not unknown keys
    ],
)
def test_keys_added_with_plus_that_the_schema_lacks_are_refused(override, message):
    with pytest.raises(ConfigError, match=message):
        validate(compose_config([override]))
