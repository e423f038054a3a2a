# Modelled on pytorch/tutorials beginner_source/basics/quickstart_tutorial.py (BSD-3-Clause):
# Dataset and DataLoader, the device line, an nn.Module with Flatten and a Linear/ReLU stack,
# and the tutorial's train()/test() loops with CrossEntropyLoss and SGD.
# Changed: data loading (the 8x8 digits bprop ships, instead of FashionMNIST via torchvision),
# hence 8*8 inputs and 64 hidden units, and 5 epochs.
import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from bprop.data.datasets import load_digits

digits = load_digits()
images, labels = np.asarray(digits.data), np.asarray(digits.targets)
training_data = TensorDataset(torch.from_numpy(images[:1500]), torch.from_numpy(labels[:1500]))
test_data = TensorDataset(torch.from_numpy(images[1500:]), torch.from_numpy(labels[1500:]))

batch_size = 64
torch.manual_seed(0)
train_dataloader = DataLoader(training_data, batch_size=batch_size, shuffle=True)
test_dataloader = DataLoader(test_data, batch_size=batch_size)

for X, y in test_dataloader:
    print(f"Shape of X [N, C, H, W]: {X.shape}")
    print(f"Shape of y: {y.shape} {y.dtype}")
    break

device = torch.accelerator.current_accelerator().type if torch.accelerator.is_available() else "cpu"
print(f"Using {device} device")


class NeuralNetwork(nn.Module):
    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.linear_relu_stack = nn.Sequential(
            nn.Linear(8 * 8, 64),
            nn.ReLU(),
            nn.Linear(64, 64),
            nn.ReLU(),
            nn.Linear(64, 10),
        )

    def forward(self, x):
        x = self.flatten(x)
        logits = self.linear_relu_stack(x)
        return logits


model = NeuralNetwork().to(device)
print(model)

loss_fn = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=1e-1)


def train(dataloader, model, loss_fn, optimizer):
    size = len(dataloader.dataset)
    model.train()
    for batch, (X, y) in enumerate(dataloader):
        X, y = X.to(device), y.to(device)
        pred = model(X)
        loss = loss_fn(pred, y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        if batch % 10 == 0:
            loss, current = loss.item(), (batch + 1) * len(X)
            print(f"loss: {loss:>7f}  [{current:>5d}/{size:>5d}]")


def test(dataloader, model, loss_fn):
    size = len(dataloader.dataset)
    num_batches = len(dataloader)
    model.eval()
    test_loss, correct = 0, 0
    with torch.no_grad():
        for X, y in dataloader:
            X, y = X.to(device), y.to(device)
            pred = model(X)
            test_loss += loss_fn(pred, y).item()
            correct += (pred.argmax(1) == y).type(torch.float).sum().item()
    test_loss /= num_batches
    correct /= size
    print(f"Test Error: \n Accuracy: {(100 * correct):>0.1f}%, Avg loss: {test_loss:>8f} \n")
    return test_loss


epochs = 5
for t in range(epochs):
    print(f"Epoch {t + 1}\n-------------------------------")
    train(train_dataloader, model, loss_fn, optimizer)
    final = test(test_dataloader, model, loss_fn)
print("Done!")
print(f"final loss: {final:.6f}")
