"""The recipe written the obvious way, as the original tutorials do: `model.fit` on NumPy arrays.

    python benchmarks/plain_keras.py mnist 6 [seed] [activation]   # prints one JSON line: seconds, history

The reference that benchmarks/epoch_time.py compares fcbaseline against; data comes from
fcbaseline's loader so both train on identical arrays.
"""

import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402

from fcbaseline import data  # noqa: E402
from fcbaseline.config import compose_config  # noqa: E402

RECIPES = {"mnist": ([256, 128], "sigmoid", 128), "cifar10": ([1024, 512], "relu", 32)}


class EpochTimer(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.first_step = None
        self.seconds = []

    def on_train_batch_begin(self, batch, logs=None):
        if self.first_step is None:
            self.first_step = time.time()

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self.started)


def main(name: str, epochs: int, seed: int = 42, activation: str = "") -> None:
    dataset = data.load_dataset(compose_config([f"dataset={name}"]).dataset)
    x_train = dataset.x_train.reshape(len(dataset.x_train), -1)  # the tutorial's flat vectors
    x_test = dataset.x_test.reshape(len(dataset.x_test), -1)
    hidden_sizes, recipe_activation, batch_size = RECIPES[name]
    activation = activation or recipe_activation
    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [keras.Input((x_train.shape[1],))]
        + [keras.layers.Dense(size, activation=activation) for size in hidden_sizes]
        + [keras.layers.Dense(10, activation="softmax")]
    )
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss="categorical_crossentropy", metrics=["accuracy"])
    y_train = keras.utils.to_categorical(dataset.y_train, 10)
    y_test = keras.utils.to_categorical(dataset.y_test, 10)
    timer = EpochTimer()
    history = model.fit(
        data.to_unit_interval(x_train),
        y_train,
        validation_data=(data.to_unit_interval(x_test), y_test),
        batch_size=batch_size,
        epochs=epochs,
        verbose=0,
        callbacks=[timer],
    )
    print(json.dumps({"seconds": timer.seconds, "first_step": timer.first_step, "history": history.history}))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), *(int(value) for value in sys.argv[3:4]), *sys.argv[4:5])
