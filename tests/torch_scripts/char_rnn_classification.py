# Modelled on pytorch/tutorials intermediate_source/char_rnn_classification_tutorial.py
# (BSD-3-Clause): names turned into one-hot (length, 1, letters) tensors letter by letter, a
# CharRNN of nn.RNN + Linear + LogSoftmax, NLLLoss, SGD and clip_grad_norm_, and the category
# read back with topk.
# Changed: data loading (names of three made-up "languages" generated from three letter sets,
# instead of the tutorial's data/names files), 300 training names, 4 epochs.
import random
import string

import torch
import torch.nn as nn

allowed_characters = string.ascii_letters + " .,;'"
n_letters = len(allowed_characters)


def letterToIndex(letter):
    return allowed_characters.find(letter)


def lineToTensor(line):
    tensor = torch.zeros(len(line), 1, n_letters)
    for li, letter in enumerate(line):
        tensor[li][0][letterToIndex(letter)] = 1
    return tensor


random.seed(0)
torch.manual_seed(0)
languages = {"Vowelish": "aeiouyl", "Consonic": "bcdfgkt", "Sibilant": "szxhqrw"}
labels_uniq = list(languages)
names = []
for lang, letters in languages.items():
    for _ in range(120):
        length = random.randint(3, 8)
        name = "".join(random.choice(letters + "aeiou") for _ in range(length)).capitalize()
        names.append((name, lang))
random.shuffle(names)
train_set, test_set = names[:300], names[300:]


class CharRNN(nn.Module):
    def __init__(self, input_size, hidden_size, output_size):
        super().__init__()
        self.rnn = nn.RNN(input_size, hidden_size)
        self.h2o = nn.Linear(hidden_size, output_size)
        self.softmax = nn.LogSoftmax(dim=1)

    def forward(self, line_tensor):
        rnn_out, hidden = self.rnn(line_tensor)
        output = self.h2o(hidden[0])
        output = self.softmax(output)
        return output


def label_from_output(output, output_labels):
    top_n, top_i = output.topk(1)
    label_i = top_i[0].item()
    return output_labels[label_i], label_i


rnn = CharRNN(n_letters, 64, len(labels_uniq))
criterion = nn.NLLLoss()
optimizer = torch.optim.SGD(rnn.parameters(), lr=0.05)

for epoch in range(4):
    rnn.train()
    random.shuffle(train_set)
    total = 0.0
    for start in range(0, len(train_set), 16):
        batch = train_set[start : start + 16]
        rnn.zero_grad()
        batch_loss = 0
        for name, lang in batch:
            output = rnn(lineToTensor(name))
            target = torch.tensor([labels_uniq.index(lang)], dtype=torch.long)
            batch_loss = batch_loss + criterion(output, target)
        batch_loss.backward()
        nn.utils.clip_grad_norm_(rnn.parameters(), 3)
        optimizer.step()
        total += batch_loss.item()
    print(f"epoch {epoch}: average batch loss = {total / len(train_set):.4f}")

rnn.eval()
correct = 0
test_loss = 0.0
with torch.no_grad():
    for name, lang in test_set:
        output = rnn(lineToTensor(name))
        test_loss += criterion(output, torch.tensor([labels_uniq.index(lang)])).item()
        guess, _ = label_from_output(output, labels_uniq)
        correct += int(guess == lang)
print(f"test accuracy: {correct / len(test_set):.3f}")
print(f"final loss: {test_loss / len(test_set):.6f}")
