# Modelled on pytorch/tutorials beginner_source/blitz/cifar10_tutorial.py (BSD-3-Clause): the
# tutorial's Net (conv, max pool, conv, three Linear layers, F.relu, torch.flatten), a
# CrossEntropyLoss, SGD with momentum, the running-loss print every few batches and the accuracy
# count with torch.max(outputs, 1).
# Changed: data loading (bprop's 8x8 digits, 1 channel, instead of CIFAR-10 via torchvision),
# hence kernel sizes 3 and 2 and fc1 taking 16 features; 3 epochs; num_workers=0.
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim

from bprop.data.datasets import load_digits

digits = load_digits()
images = np.asarray(digits.data) * 2 - 1  # the tutorial's Normalize((0.5,), (0.5,))
labels = np.asarray(digits.targets)
trainset = torch.utils.data.TensorDataset(torch.from_numpy(images[:1500]), torch.from_numpy(labels[:1500]))
testset = torch.utils.data.TensorDataset(torch.from_numpy(images[1500:]), torch.from_numpy(labels[1500:]))

batch_size = 4
torch.manual_seed(0)
trainloader = torch.utils.data.DataLoader(trainset, batch_size=batch_size, shuffle=True, num_workers=0)
testloader = torch.utils.data.DataLoader(testset, batch_size=batch_size, shuffle=False, num_workers=0)
classes = tuple(str(d) for d in range(10))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 3)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 2)
        self.fc1 = nn.Linear(16 * 1 * 1, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        x = self.fc3(x)
        return x


net = Net()
criterion = nn.CrossEntropyLoss()
optimizer = optim.SGD(net.parameters(), lr=0.01, momentum=0.9)

for epoch in range(3):
    running_loss = 0.0
    for i, data in enumerate(trainloader, 0):
        inputs, labels = data
        optimizer.zero_grad()
        outputs = net(inputs)
        loss = criterion(outputs, labels)
        loss.backward()
        optimizer.step()
        running_loss += loss.item()
        if i % 125 == 124:
            print(f"[{epoch + 1}, {i + 1:5d}] loss: {running_loss / 125:.3f}")
            last_running = running_loss / 125
            running_loss = 0.0
print("Finished Training")

correct = 0
total = 0
with torch.no_grad():
    for data in testloader:
        images, labels = data
        outputs = net(images)
        _, predicted = torch.max(outputs, 1)
        total += labels.size(0)
        correct += (predicted == labels).sum().item()
print(f"Accuracy of the network on the {total} test images: {100 * correct // total} %")
print(f"final loss: {last_running:.6f}")
