"""The recipe as a plain PyTorch loop, what a user might pick instead of Keras: same layers, SGD 0.01,
the recipe's batch size, a fresh shuffle every epoch, the test set evaluated after every epoch.

    python benchmarks/plain_torch.py mnist 6      # prints one JSON line: seconds per epoch, history

Needs CPU PyTorch, which fcbaseline itself does not (on this project's machine `pip install
torch==2.13.0` takes the CPU build; elsewhere `pip install torch --index-url
https://download.pytorch.org/whl/cpu`). Written the way a PyTorch user writes it well: tensors indexed
by a random permutation (no DataLoader, whose per-batch Python overhead would make the comparison
unfair to PyTorch), pixels scaled to [0, 1] once up front, logits with `CrossEntropyLoss` (softmax and
log-loss fused, the same function as Keras' softmax plus categorical cross-entropy), and Keras' weight
initialization (Glorot uniform, zero biases) so that the two learn alike.
"""

import json
import sys
import time

import numpy as np
import torch

from fcbaseline import data
from fcbaseline.config import compose_config

RECIPES = {"mnist": ([256, 128], torch.nn.Sigmoid, 128), "cifar10": ([1024, 512], torch.nn.ReLU, 32)}
EVALUATION_BATCH = 2048


def build(inputs: int, hidden_sizes, activation, classes: int) -> torch.nn.Sequential:
    layers, width = [], inputs
    for size in hidden_sizes:
        layers += [torch.nn.Linear(width, size), activation()]
        width = size
    model = torch.nn.Sequential(*layers, torch.nn.Linear(width, classes))
    for layer in model:
        if isinstance(layer, torch.nn.Linear):  # Keras' Dense initialization, so both learn the same way
            torch.nn.init.xavier_uniform_(layer.weight)
            torch.nn.init.zeros_(layer.bias)
    return model


def evaluate(model, x, y, loss_function):
    model.eval()
    total_loss, correct = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(x), EVALUATION_BATCH):
            logits = model(x[start : start + EVALUATION_BATCH])
            labels = y[start : start + EVALUATION_BATCH]
            total_loss += loss_function(logits, labels).item() * len(labels)
            correct += (logits.argmax(1) == labels).sum().item()
    model.train()
    return total_loss / len(x), correct / len(x)


def main(name: str, epochs: int, seed: int = 42) -> None:
    torch.manual_seed(seed)
    dataset = data.load_dataset(compose_config([f"dataset={name}"]).dataset)
    flat = lambda images: torch.from_numpy(data.to_unit_interval(images.reshape(len(images), -1)))  # noqa: E731
    x_train, x_test = flat(dataset.x_train), flat(dataset.x_test)
    y_train, y_test = (
        torch.from_numpy(dataset.y_train.astype(np.int64)),
        torch.from_numpy(dataset.y_test.astype(np.int64)),
    )
    hidden_sizes, activation, batch_size = RECIPES[name]
    model = build(x_train.shape[1], hidden_sizes, activation, len(dataset.class_names))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    loss_function = torch.nn.CrossEntropyLoss()
    seconds, history, first_step = [], [], None
    for _ in range(epochs):
        started = time.perf_counter()
        order = torch.randperm(len(x_train))
        total_loss, correct = 0.0, 0
        for start in range(0, len(order), batch_size):
            if first_step is None:
                first_step = time.time()
            indices = order[start : start + batch_size]
            logits = model(x_train[indices])
            loss = loss_function(logits, y_train[indices])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total_loss += loss.item() * len(indices)
            correct += (logits.argmax(1) == y_train[indices]).sum().item()
        val_loss, val_accuracy = evaluate(model, x_test, y_test, loss_function)
        seconds.append(time.perf_counter() - started)
        history.append([total_loss / len(order), correct / len(order), val_loss, val_accuracy])
    print(
        json.dumps(
            {"seconds": seconds, "first_step": first_step, "history": history, "threads": torch.get_num_threads()}
        )
    )


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), *(int(value) for value in sys.argv[3:4]))
