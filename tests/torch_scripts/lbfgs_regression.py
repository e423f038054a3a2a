# Modelled on the closure example of PyTorch's torch.optim documentation, docs/source/optim.rst
# (BSD-3-Clause): `optimizer.step(closure)` with LBFGS and the strong-Wolfe line search, fitting a
# small regression. Changed: generated data (a cubic with a sine) instead of a user's data set.
import math

import torch
from torch import nn

torch.manual_seed(0)
x = torch.linspace(-2.0, 2.0, 200).unsqueeze(1)
y = 0.5 * x**3 - x + 0.3 * torch.sin(3 * x)
features = torch.cat([x, x**2, x**3], dim=1)

model = nn.Linear(3, 1)
nn.init.zeros_(model.weight)
nn.init.zeros_(model.bias)
loss_fn = nn.MSELoss()
optimizer = torch.optim.LBFGS(model.parameters(), lr=1, max_iter=50, line_search_fn="strong_wolfe")


def closure():
    optimizer.zero_grad()
    loss = loss_fn(model(features), y)
    loss.backward()
    return loss


for step in range(5):
    loss = optimizer.step(closure)
    print(f"step {step}: loss {loss.item():.6f}")

print(f"weights: {[round(w, 4) for w in model.weight.detach().flatten().tolist()]}, bias {model.bias.item():.4f}")
assert math.isfinite(loss.item())
print(f"final loss: {loss_fn(model(features), y).item():.6f}")
