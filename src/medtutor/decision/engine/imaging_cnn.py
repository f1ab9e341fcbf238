"""Optional small CNN for the imaging lab (the `torch` extra, CPU). Imported only when asked for.

Four 3x3 convolution blocks with batch normalisation, global average pooling and one output; trained with
AdamW, a one-cycle learning rate, random shifts/rotations/zoom and brightness/contrast jitter. The fitted
weights are kept as numpy arrays, so a stored model unpickles without torch; predicting needs torch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from medtutor.decision.engine.imaging import ImageSet


def _network(torch: Any, width: int) -> Any:
    nn = torch.nn

    def block(cin: int, cout: int) -> list[Any]:
        return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]

    return nn.Sequential(
        *block(1, width), *block(width, width), nn.MaxPool2d(2),            # 14x14
        *block(width, 2 * width), *block(2 * width, 2 * width), nn.MaxPool2d(2),  # 7x7
        *block(2 * width, 4 * width), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        nn.Dropout(0.2), nn.Linear(4 * width, 1))


def _jitter(torch: Any, batch: Any, generator: Any) -> Any:
    """Random affine (rotation up to 10 degrees, zoom 0.9-1.1, shift up to 2 px) and contrast/brightness."""
    functional = torch.nn.functional
    n = batch.shape[0]
    angle = (torch.rand(n, generator=generator) * 2 - 1) * math.radians(10)
    zoom = 1 + (torch.rand(n, generator=generator) * 2 - 1) * 0.1
    shift = (torch.rand(n, 2, generator=generator) * 2 - 1) * (2 / 14)
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)
    grid = functional.affine_grid(theta, list(batch.shape), align_corners=False)
    moved = functional.grid_sample(batch, grid, padding_mode="border", align_corners=False)
    gain = 1 + (torch.rand(n, 1, 1, 1, generator=generator) * 2 - 1) * 0.15
    offset = (torch.rand(n, 1, 1, 1, generator=generator) * 2 - 1) * 0.15
    return moved * gain + offset


def _standardize(images: np.ndarray) -> np.ndarray:
    flat = images.reshape(len(images), -1).astype(np.float32)
    flat = (flat - flat.mean(axis=1, keepdims=True)) / (flat.std(axis=1, keepdims=True) + 1e-3)
    return flat.reshape(len(images), 1, images.shape[1], images.shape[2])


@dataclass
class SmallCnn:
    epochs: int = 12
    width: int = 16
    batch_size: int = 64
    learning_rate: float = 3e-3
    class_weight: str | None = "balanced"
    threads: int = 1  # two threads thrash on a busy 2-core machine (measured 10x slower)
    key: str = "cnn"
    title: str = "Small CNN (torch, CPU)"
    weights: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    _net: Any = field(default=None, repr=False)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_net"] = None
        return state

    def fit(self, train: ImageSet, *, seed: int = 0) -> SmallCnn:
        import torch

        torch.set_num_threads(max(1, self.threads))
        torch.manual_seed(seed)
        generator = torch.Generator().manual_seed(seed)
        net = _network(torch, self.width)
        images = torch.from_numpy(_standardize(train.images))
        labels = torch.from_numpy(train.labels.astype(np.float32))
        positives = float(labels.sum())
        pos_weight = None
        if self.class_weight == "balanced" and 0 < positives < len(labels):
            # Weight the classes inversely to their frequency, as scikit-learn's "balanced" does.
            pos_weight = torch.tensor((len(labels) - positives) / positives)
        loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=pos_weight)
        steps_per_epoch = math.ceil(len(labels) / self.batch_size)
        optimizer = torch.optim.AdamW(net.parameters(), lr=self.learning_rate, weight_decay=1e-4)
        schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=self.learning_rate,
                                                       total_steps=self.epochs * steps_per_epoch)
        net.train()
        for _ in range(self.epochs):
            order = torch.randperm(len(labels), generator=generator)
            for start in range(0, len(labels), self.batch_size):
                rows = order[start:start + self.batch_size]
                batch = _jitter(torch, images[rows], generator)
                optimizer.zero_grad()
                loss = loss_fn(net(batch).squeeze(1), labels[rows])
                loss.backward()
                optimizer.step()
                schedule.step()
        net.eval()
        self.weights = {name: value.detach().cpu().numpy().copy() for name, value in net.state_dict().items()}
        self._net = net
        return self

    def _loaded(self) -> Any:
        import torch

        if self._net is None:
            net = _network(torch, self.width)
            net.load_state_dict({name: torch.from_numpy(np.array(value)) for name, value in self.weights.items()})
            net.eval()
            self._net = net
        return self._net

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        import torch

        net = self._loaded()
        out = []
        with torch.no_grad():
            batch = torch.from_numpy(_standardize(images))
            for start in range(0, len(batch), 512):
                out.append(torch.sigmoid(net(batch[start:start + 512]).squeeze(1)).numpy())
        return np.concatenate(out).astype(np.float64)

    def params(self) -> dict[str, Any]:
        return {"model": "CNN: 5 conv3x3+BN+ReLU blocks, global average pool, linear", "width": self.width,
                "epochs": self.epochs, "batch_size": self.batch_size, "learning_rate": self.learning_rate,
                "class_weight": self.class_weight, "augmentation": "rotate 10deg, zoom 10%, shift 2px, contrast"}
