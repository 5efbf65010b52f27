"""Where a recipe's epoch goes, and what the training-loop levers change, in one process and one run.

    FCBASELINE_DATA_DIR=../shared/datasets python benchmarks/epoch_parts.py                   # MNIST recipe
    FCBASELINE_DATA_DIR=../shared/datasets python benchmarks/epoch_parts.py --dataset cifar10 --epochs 3

For each variant of the compiled epoch (fcbaseline.training.epoch), the median over the epochs after the first of
(a) the training updates and (b) the validation pass over the test set, and the final training loss
(the variants compute the same updates, so it should agree to float rounding):
  whole_epoch_xla     the full batches as one XLA computation (fcbaseline's default since 2026-11-30)
  stepwise_xla        a TensorFlow loop calling an XLA-compiled step per batch (the default before)
  stepwise            a TensorFlow loop, no XLA (what dropout gets)
  ..._bfloat16        the same with training.precision=bfloat16 (hidden layers compute in bfloat16)
Variants run in the order given, alternating rounds (--rounds) so that the machine's drift spreads evenly.
"""

import argparse
import statistics
import time

import numpy as np

from fcbaseline import quiet

quiet.import_tensorflow()
import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

VARIANTS = ["whole_epoch_xla", "stepwise_xla", "stepwise", "whole_epoch_xla_bfloat16", "stepwise_bfloat16"]


def make_variant(name: str, model, optimizer, x, y, batch_size: int):
    from fcbaseline.training import epoch as train

    loss_function = keras.losses.CategoricalCrossentropy()
    if name.startswith("whole_epoch_xla"):
        run_epoch = train.make_epoch(model, optimizer, loss_function, int(x.shape[0]), batch_size, xla=True)
    else:
        step = train.make_train_step(model, optimizer, loss_function)
        step = tf.function(step, jit_compile=name.startswith("stepwise_xla"))
        run_epoch = train.make_stepwise_epoch(step, int(x.shape[0]), batch_size, lambda seed, step: seed)
    seed = tf.constant([0, 0], tf.int64)  # no augmentation: unused
    return lambda order: run_epoch(order, x, y, seed)


def measure(name: str, config, dataset, epochs: int) -> dict:
    from fcbaseline.models import build_model
    from fcbaseline.training import epoch as train

    train.seed_everything(config.training.seed)
    precision = "bfloat16" if name.endswith("bfloat16") else "float32"
    model = build_model(config.model, dataset.image_shape, len(dataset.class_names), precision)
    optimizer = keras.optimizers.SGD(config.optimizer.lr)
    classes = len(dataset.class_names)
    x, y = tf.identity(tf.convert_to_tensor(dataset.x_train)), tf.one_hot(dataset.y_train, classes)
    run_epoch = make_variant(name, model, optimizer, x, y, config.training.batch_size)
    evaluate = train.make_evaluator(model, classes)
    order = np.random.default_rng(config.training.seed)
    training, validation, loss = [], [], None
    for _ in range(epochs):
        started = time.perf_counter()
        loss = float(run_epoch(tf.constant(order.permutation(len(dataset.y_train))))[0])
        trained = time.perf_counter()
        evaluate(dataset.x_test, dataset.y_test)
        training.append(trained - started)
        validation.append(time.perf_counter() - trained)
    return {"train_s": training[1:], "validation_s": validation[1:], "loss": loss}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="mnist")
    parser.add_argument("--epochs", type=int, default=4, help="per variant and round, the first one not counted")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--variants", nargs="+", default=VARIANTS, choices=VARIANTS)
    arguments = parser.parse_args()
    from fcbaseline.config import compose_config
    from fcbaseline.data import load_dataset

    config = compose_config([f"dataset={arguments.dataset}"])
    dataset = load_dataset(config.dataset)
    results = {name: {"train_s": [], "validation_s": [], "loss": None} for name in arguments.variants}
    for _ in range(arguments.rounds):
        for name in arguments.variants:
            measured = measure(name, config, dataset, arguments.epochs)
            results[name]["train_s"] += measured["train_s"]
            results[name]["validation_s"] += measured["validation_s"]
            results[name]["loss"] = measured["loss"]
    base = statistics.median(results[arguments.variants[0]]["train_s"])
    print(f"{arguments.dataset}, batch {config.training.batch_size}, {arguments.rounds} rounds of {arguments.epochs}")
    print("| variant | training s/epoch | validation s/epoch | training vs first | final loss |")
    print("|---|---|---|---|---|")
    for name, figures in results.items():
        training, validation = statistics.median(figures["train_s"]), statistics.median(figures["validation_s"])
        print(f"| {name} | {training:.3f} | {validation:.3f} | {training / base:.2f} x | {figures['loss']:.5f} |")


if __name__ == "__main__":
    main()
