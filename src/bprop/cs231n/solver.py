"""The course's Solver: minibatch training of a model with ``params`` and ``loss(X, y)``.

Each iteration samples a minibatch (with replacement, from NumPy's global generator, as the
course), gets ``(loss, grads)`` from the model and updates every parameter with the update rule
and its own config dict. After each epoch the learning rate of every config is multiplied by
``lr_decay``; at the end of each epoch (and at the first and last iteration) the training
accuracy on ``num_train_samples`` training samples and the validation accuracy are recorded,
and the parameters with the best validation accuracy are kept. ``train()`` swaps those best
parameters into the model when it finishes.

Checkpoints (``checkpoint_name``) are written with ``bprop.save`` (NumPy arrays and JSON, no
pickle) to ``{checkpoint_name}_epoch_{epoch}.pkl``, the course's file name.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from bprop.cs231n import optim
from bprop.serialization import save

UPDATE_RULES = ("sgd", "sgd_momentum", "rmsprop", "adam")


class Solver:
    """Solver(model, data, update_rule="sgd", optim_config={}, lr_decay=1.0, batch_size=100,
    num_epochs=10, num_train_samples=1000, num_val_samples=None, checkpoint_name=None,
    print_every=10, verbose=True).

    ``data`` holds X_train, y_train, X_val, y_val. ``update_rule`` is the name of a rule in
    bprop.cs231n.optim or a function ``(w, dw, config) -> (next_w, config)``. Afterwards:
    ``loss_history`` (one per iteration), ``train_acc_history``, ``val_acc_history`` (one per
    epoch, plus the start), ``best_val_acc`` and ``best_params``.
    """

    def __init__(self, model: Any, data: dict[str, np.ndarray], **kwargs: Any):
        self.model = model
        self.X_train, self.y_train = data["X_train"], data["y_train"]
        self.X_val, self.y_val = data["X_val"], data["y_val"]
        self.update_rule_name = kwargs.pop("update_rule", "sgd")
        self.optim_config = kwargs.pop("optim_config", {})
        self.lr_decay = kwargs.pop("lr_decay", 1.0)
        self.batch_size = kwargs.pop("batch_size", 100)
        self.num_epochs = kwargs.pop("num_epochs", 10)
        self.num_train_samples = kwargs.pop("num_train_samples", 1000)
        self.num_val_samples = kwargs.pop("num_val_samples", None)
        self.checkpoint_name = kwargs.pop("checkpoint_name", None)
        self.print_every = kwargs.pop("print_every", 10)
        self.verbose = kwargs.pop("verbose", True)
        if kwargs:
            raise ValueError(f"Solver: unrecognized arguments {', '.join(sorted(kwargs))}")
        self.update_rule = self._rule(self.update_rule_name)
        self._reset()

    @staticmethod
    def _rule(rule: str | Callable) -> Callable:
        if callable(rule):
            return rule
        if rule not in UPDATE_RULES:
            raise ValueError(f'Solver: invalid update_rule "{rule}"; choose one of {", ".join(UPDATE_RULES)}')
        return getattr(optim, rule)

    def _reset(self) -> None:
        self.epoch = 0
        self.best_val_acc = 0.0
        self.best_params: dict[str, np.ndarray] = {}
        self.loss_history: list[float] = []
        self.train_acc_history: list[float] = []
        self.val_acc_history: list[float] = []
        self.optim_configs = {p: dict(self.optim_config) for p in self.model.params}

    def _step(self) -> None:
        """One minibatch: loss and gradients, then every parameter's update."""
        batch = np.random.choice(self.X_train.shape[0], self.batch_size)  # noqa: NPY002 (the course's generator)
        loss, grads = self.model.loss(self.X_train[batch], self.y_train[batch])
        self.loss_history.append(float(loss))
        for name, value in self.model.params.items():
            next_value, self.optim_configs[name] = self.update_rule(value, grads[name], self.optim_configs[name])
            self.model.params[name] = next_value

    def _save_checkpoint(self) -> None:
        if self.checkpoint_name is None:
            return
        checkpoint = {
            "update_rule": self.update_rule_name if isinstance(self.update_rule_name, str) else "custom",
            "lr_decay": self.lr_decay,
            "batch_size": self.batch_size,
            "num_train_samples": self.num_train_samples,
            "num_val_samples": self.num_val_samples,
            "epoch": self.epoch,
            "params": dict(self.model.params),
            "loss_history": self.loss_history,
            "train_acc_history": self.train_acc_history,
            "val_acc_history": self.val_acc_history,
        }
        filename = f"{self.checkpoint_name}_epoch_{self.epoch}.pkl"
        if self.verbose:
            print(f'Saving checkpoint to "{filename}"')
        save(checkpoint, filename)

    def check_accuracy(
        self, X: np.ndarray, y: np.ndarray, num_samples: int | None = None, batch_size: int = 100
    ) -> float:
        """Fraction of X's samples (a random ``num_samples`` of them if given) whose highest
        score is the label y, computed ``batch_size`` samples at a time."""
        if num_samples is not None and X.shape[0] > num_samples:
            chosen = np.random.choice(X.shape[0], num_samples)  # noqa: NPY002
            X, y = X[chosen], y[chosen]
        predictions = [
            np.argmax(self.model.loss(X[start : start + batch_size]), axis=1)
            for start in range(0, X.shape[0], batch_size)
        ]
        return float(np.mean(np.concatenate(predictions) == y))

    def train(self) -> None:
        """Run the optimisation, then put the best parameters found into the model."""
        iterations_per_epoch = max(self.X_train.shape[0] // self.batch_size, 1)
        num_iterations = self.num_epochs * iterations_per_epoch
        for t in range(num_iterations):
            self._step()
            if self.verbose and t % self.print_every == 0:
                print(f"(Iteration {t + 1} / {num_iterations}) loss: {self.loss_history[-1]:f}")
            epoch_end = (t + 1) % iterations_per_epoch == 0
            if epoch_end:
                self.epoch += 1
                for config in self.optim_configs.values():
                    if "learning_rate" in config:  # the course's rules all set it on their first step
                        config["learning_rate"] *= self.lr_decay
            if t == 0 or t == num_iterations - 1 or epoch_end:
                self._record_accuracy()
        self.model.params = self.best_params or self.model.params

    def _record_accuracy(self) -> None:
        train_acc = self.check_accuracy(self.X_train, self.y_train, num_samples=self.num_train_samples)
        val_acc = self.check_accuracy(self.X_val, self.y_val, num_samples=self.num_val_samples)
        self.train_acc_history.append(train_acc)
        self.val_acc_history.append(val_acc)
        self._save_checkpoint()
        if self.verbose:
            print(f"(Epoch {self.epoch} / {self.num_epochs}) train acc: {train_acc:f}; val_acc: {val_acc:f}")
        if val_acc > self.best_val_acc or not self.best_params:
            self.best_val_acc = val_acc
            self.best_params = {k: v.copy() for k, v in self.model.params.items()}
