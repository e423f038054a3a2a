# Modelled on pytorch/tutorials beginner_source/examples_nn/two_layer_net_optim.py (BSD-3-Clause):
# random data, nn.Sequential(Linear, ReLU, Linear), a summed MSELoss and torch.optim.Adam.
# Changed: 300 steps, not 500.
import torch

torch.manual_seed(0)
N, D_in, H, D_out = 64, 1000, 100, 10

x = torch.randn(N, D_in)
y = torch.randn(N, D_out)

model = torch.nn.Sequential(
    torch.nn.Linear(D_in, H),
    torch.nn.ReLU(),
    torch.nn.Linear(H, D_out),
)
loss_fn = torch.nn.MSELoss(reduction="sum")

learning_rate = 1e-4
optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
for t in range(300):
    y_pred = model(x)
    loss = loss_fn(y_pred, y)
    if t % 100 == 99:
        print(t, loss.item())
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
print(f"final loss: {loss.item():.6f}")
