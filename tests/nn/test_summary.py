"""Keras-style summaries."""

import bprop as bp
from bprop import nn


def test_lenet5_summary():
    text = nn.models.LeNet5().summary((1, 28, 28))
    assert "features.0 (Conv2d)" in text and "(None, 6, 28, 28)" in text and "(None, 16, 5, 5)" in text
    assert "Total params: 61,706" in text and "Non-trainable params: 0" in text


def test_summary_function_and_frozen_parameters():
    model = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.Linear(3, 2))
    model[0].requires_grad_(False)
    text = bp.summary(model, (4,))
    assert "Trainable params: 14" in text and "Non-trainable params: 15" in text
    assert "1 (BatchNorm1d)" in text and "(None, 3)" in text
    assert model.training and "forward" not in vars(model[0])  # restored after the probe
