"""Write the lessons' notebooks, lessons/en/*.ipynb and lessons/zh/*.ipynb, from one list of
cells per lesson, so that both languages always have the same cells.

Each lesson is a list of cells: ``md(en, zh)`` is a text cell written in each language (not
translated word for word), ``code(source)`` a code cell shared by both, ``code(en, zh)`` one whose
comments or printed words differ. The notebooks are committed without outputs; the tests run
them (tests/lessons/). After editing this file: ``python lessons/build.py``; ``--check`` says
whether the committed notebooks are what this file writes.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
LANGS = ("en", "zh")


def md(en: str, zh: str) -> tuple[str, str, str]:
    return ("markdown", en.strip("\n"), unwrap(zh.strip("\n")))


def unwrap(text: str) -> str:
    """Join the wrapped lines of each paragraph and list item — a line break inside a Chinese
    paragraph renders as a space between two characters — with no space between two Chinese
    characters or beside full-width punctuation, and a space between Chinese and Latin text; and
    use Chinese quotation marks."""
    lines: list[str] = []
    for line in text.split("\n"):
        starts_block = not line.strip() or re.match(r"(\* |#|\d+\. |\|)", line)
        if lines and lines[-1].strip() and not starts_block:
            left, right = lines[-1][-1], line.strip()[0]
            closed = punctuation(left) or punctuation(right) or (chinese(left) and chinese(right))
            joint = "" if closed else " "
            lines[-1] = lines[-1].rstrip() + joint + line.strip()
        else:
            lines.append(line)
    parts = "\n".join(lines).split("`")  # Chinese quotation marks, outside `code`
    return "`".join(re.sub(r'"([^"\n]*)"', r"“\1”", part) if i % 2 == 0 else part for i, part in enumerate(parts))


def chinese(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff"


def punctuation(ch: str) -> bool:
    """Full-width punctuation, which takes no space beside it."""
    return "\u3000" <= ch <= "\u303f" or "\uff00" <= ch <= "\uffef" or ch in "—“”‘’…"


def code(en: str, zh: str | None = None) -> tuple[str, str, str]:
    return ("code", en.strip("\n"), (en if zh is None else zh).strip("\n"))


# Where the real data sets are: a folder shared/data beside the repository or above it.
FIND_DATA = '''
from pathlib import Path

def find_data(name):
    """The folder of data set `name` in a shared/data folder beside the repository, or None."""
    for folder in [Path.cwd(), *Path.cwd().parents]:
        if (folder / "shared" / "data" / name).is_dir():
            return folder / "shared" / "data"
    return None
'''

# ===================================================================================== lesson 01
L01 = [
    md(
        """
# Lesson 1 · Backpropagation through pictures: the δ recursion

The first note explains backpropagation on a network drawn neuron by neuron. Here we follow it
with real numbers: the classic 2-2-2 sigmoid network (two inputs, two hidden neurons, two
outputs), first by hand in NumPy, then with bprop, which must find the same numbers.

The note's notation, for layer l:

* z^l = W^l a^(l−1) + b^l — what enters the neurons (a^0 = x, the input),
* a^l = σ(z^l) — what leaves them (σ is the sigmoid),
* δ^l = ∂C/∂z^l — the **error** of layer l: how the cost C moves when z^l moves.

Everything else follows from two facts: δ of the last layer is easy, and δ of a layer follows
from δ of the layer above.
""",
        """
# 第 1 课 · 看图学反向传播：δ 的递推

第一篇笔记把神经网络画成一个个神经元来讲反向传播。这一课用真实的数字把它走一遍：经典的
2-2-2 sigmoid 网络（两个输入、两个隐藏神经元、两个输出）。先用 NumPy 手算，再用 bprop 算，
两者必须得到同样的数。

沿用笔记的记号，对第 l 层：

* z^l = W^l a^(l−1) + b^l ——进入神经元的量（a^0 = x，即输入）；
* a^l = σ(z^l) ——神经元的输出（σ 是 sigmoid）；
* δ^l = ∂C/∂z^l ——第 l 层的**误差**：z^l 变一点，代价 C 跟着变多少。

其余的一切都来自两件事：最后一层的 δ 很好求；每一层的 δ 可以由上一层的 δ 推出来。
""",
    ),
    code(
        """
import numpy as np
import bprop as bp
import bprop.nn.functional as F
from bprop.viz import teaching_network

np.set_printoptions(precision=9, suppress=True)
x = np.array([0.05, 0.10])                    # a^0: the input
y = np.array([0.01, 0.99])                    # the target
W1 = np.array([[0.15, 0.20], [0.25, 0.30]])   # w1 w2 / w3 w4
b1 = np.array([0.35, 0.35])
W2 = np.array([[0.40, 0.45], [0.50, 0.55]])   # w5 w6 / w7 w8
b2 = np.array([0.60, 0.60])

def sigmoid(z):
    return 1 / (1 + np.exp(-z))
""",
        """
import numpy as np
import bprop as bp
import bprop.nn.functional as F
from bprop.viz import teaching_network

np.set_printoptions(precision=9, suppress=True)
x = np.array([0.05, 0.10])                    # a^0：输入
y = np.array([0.01, 0.99])                    # 目标值
W1 = np.array([[0.15, 0.20], [0.25, 0.30]])   # w1 w2 / w3 w4
b1 = np.array([0.35, 0.35])
W2 = np.array([[0.40, 0.45], [0.50, 0.55]])   # w5 w6 / w7 w8
b2 = np.array([0.60, 0.60])

def sigmoid(z):
    return 1 / (1 + np.exp(-z))
""",
    ),
    md(
        """
## The forward pass, by hand

Two layers, each a weighted sum and a sigmoid. The cost is the squared error
C = ½ Σ_n (a²_n − y_n)² (the ½ makes its derivative plain: ∂C/∂a² = a² − y).
""",
        """
## 前向传播：手算

两层，每层先加权求和，再过 sigmoid。代价取平方误差 C = ½ Σ_n (a²_n − y_n)²
（乘 ½ 是为了求导后干净：∂C/∂a² = a² − y）。
""",
    ),
    code(
        """
z1 = W1 @ x + b1
a1 = sigmoid(z1)
z2 = W2 @ a1 + b2
a2 = sigmoid(z2)
C = 0.5 * np.sum((a2 - y) ** 2)
print("z1 =", z1, " a1 =", a1)
print("z2 =", z2, " a2 =", a2)
print(f"C = {C:.9f}")
"""
    ),
    md(
        """
## δ of the last layer

δ²_n = ∂C/∂a²_n · ∂a²_n/∂z²_n = (a²_n − y_n) · σ′(z²_n), and the sigmoid's derivative is
σ′(z) = σ(z)(1 − σ(z)) = a(1 − a): no exponential needed, the forward pass already has a.

Then the weights: z²_i = Σ_j w²_ij a¹_j + b²_i, so ∂z²_i/∂w²_ij = a¹_j and
**∂C/∂w²_ij = δ²_i · a¹_j** — the error at the neuron the weight enters, times the activation
it comes from. As a matrix: ∂C/∂W² = δ² (a¹)ᵀ, an outer product. w5 is W²[0, 0].

(The note writes the squared error's derivative as 2/N·|ŷ − y|; the absolute value is a slip — the
sign matters, it tells in which direction to move.)
""",
        """
## 最后一层的 δ

δ²_n = ∂C/∂a²_n · ∂a²_n/∂z²_n = (a²_n − y_n) · σ′(z²_n)。sigmoid 的导数是
σ′(z) = σ(z)(1 − σ(z)) = a(1 − a)：不用再算指数，前向传播时 a 已经有了。

再看权重：z²_i = Σ_j w²_ij a¹_j + b²_i，所以 ∂z²_i/∂w²_ij = a¹_j，于是
**∂C/∂w²_ij = δ²_i · a¹_j**——权重所进入的神经元的误差，乘以它出发的那个神经元的输出。
写成矩阵就是外积 ∂C/∂W² = δ² (a¹)ᵀ。w5 就是 W²[0, 0]。

（笔记里把平方误差的导数写成 2/N·|ŷ − y|，绝对值是笔误：符号很重要，它决定往哪个方向调。）
""",
    ),
    code(
        """
delta2 = (a2 - y) * a2 * (1 - a2)
dW2 = np.outer(delta2, a1)
db2 = delta2
print("δ2 =", delta2)
print("∂C/∂W2 =\\n", dW2)
print(f"∂C/∂w5 = {dW2[0, 0]:.9f}")
"""
    ),
    md(
        """
## The recursion: δ of a layer from the layer above

a¹_i reaches the cost through every neuron k of the next layer, with weight w²_ki. Summing over
those paths (the chain rule) and multiplying by the sigmoid's slope at z¹_i:

**δ¹_i = σ′(z¹_i) · Σ_k w²_ki δ²_k**, that is δ^l = σ′(z^l) ⊙ (W^(l+1))ᵀ δ^(l+1).

The error flows backwards through the same weights that carried the signal forwards, transposed.
And ∂C/∂W¹ = δ¹ (a⁰)ᵀ as before.
""",
        """
## 递推：由上一层的 δ 求这一层的 δ

a¹_i 通过下一层的每个神经元 k（权重 w²_ki）影响代价。把这些路径加起来（链式法则），再乘上
sigmoid 在 z¹_i 处的斜率：

**δ¹_i = σ′(z¹_i) · Σ_k w²_ki δ²_k**，也就是 δ^l = σ′(z^l) ⊙ (W^(l+1))ᵀ δ^(l+1)。

误差沿着前向传播时传递信号的同一组权重（转置后）往回流。权重的梯度和上面一样：∂C/∂W¹ = δ¹ (a⁰)ᵀ。
""",
    ),
    code(
        """
delta1 = a1 * (1 - a1) * (W2.T @ delta2)
dW1 = np.outer(delta1, x)
print("δ1 =", delta1)
print("∂C/∂W1 =\\n", dW1)
print(f"∂C/∂w1 = {dW1[0, 0]:.9f}")
"""
    ),
    md(
        """
## The same with bprop

`teaching_network()` builds this very network as an `nn.Sequential` (Linear, Sigmoid, Linear,
Sigmoid, in float64). One forward pass, one `backward()`, and the gradients are in `.grad`.
""",
        """
## 用 bprop 再算一遍

`teaching_network()` 用 `nn.Sequential`（Linear、Sigmoid、Linear、Sigmoid，float64）搭出的正是这个网络。
一次前向、一次 `backward()`，梯度就在 `.grad` 里。
""",
    ),
    code(
        """
model, x0, y0 = teaching_network()
out = model(bp.tensor(x0[None]))              # a batch of one sample
loss = 0.5 * ((out - bp.tensor(y0[None])) ** 2).sum()
loss.backward()
print(f"C (bprop) = {loss.item():.9f}")
print("∂C/∂W2 (bprop) =\\n", np.asarray(model[2].weight.grad))
print("∂C/∂W1 (bprop) =\\n", np.asarray(model[0].weight.grad))
"""
    ),
    md(
        """
The numbers this lesson states — C = 0.298371109, ∂C/∂w5 = 0.082167041, ∂C/∂w1 = 0.000438568 —
are checked here, against the hand computation and against bprop:
""",
        """
本课正文里写的数——C = 0.298371109，∂C/∂w5 = 0.082167041，∂C/∂w1 = 0.000438568——在这里核对，
既对手算，也对 bprop：
""",
    ),
    code(
        """
assert round(C, 9) == 0.298371109
assert round(dW2[0, 0], 9) == 0.082167041
assert round(dW1[0, 0], 9) == 0.000438568
assert abs(loss.item() - C) < 1e-15
np.testing.assert_allclose(np.asarray(model[2].weight.grad), dW2, rtol=1e-12)
np.testing.assert_allclose(np.asarray(model[0].weight.grad), dW1, rtol=1e-12)
np.testing.assert_allclose(np.asarray(model[0].bias.grad), delta1, rtol=1e-12)
print("hand computation and bprop agree")
""",
        """
assert round(C, 9) == 0.298371109
assert round(dW2[0, 0], 9) == 0.082167041
assert round(dW1[0, 0], 9) == 0.000438568
assert abs(loss.item() - C) < 1e-15
np.testing.assert_allclose(np.asarray(model[2].weight.grad), dW2, rtol=1e-12)
np.testing.assert_allclose(np.asarray(model[0].weight.grad), dW1, rtol=1e-12)
np.testing.assert_allclose(np.asarray(model[0].bias.grad), delta1, rtol=1e-12)
print("手算与 bprop 一致")
""",
    ),
    md(
        """
## A deeper net: the same recursion in a loop

Nothing in the recursion depends on the depth. For any list of layers, the backward pass is a loop
from the last layer to the first: δ^L from the cost, then δ^l = σ′(z^l) ⊙ (W^(l+1))ᵀ δ^(l+1).
Below, a 3-5-4-4-2 sigmoid net and a batch of 8 samples (the cost is now the mean over the batch,
so the outer products become matrix products that sum over the samples).
""",
        """
## 更深的网络：同一个递推，写成循环

递推式与网络深度无关。任意多层，反向传播就是从最后一层往第一层的一个循环：先由代价求 δ^L，
再按 δ^l = σ′(z^l) ⊙ (W^(l+1))ᵀ δ^(l+1) 逐层往回。下面是一个 3-5-4-4-2 的 sigmoid 网络和 8 个样本
的一批数据（代价改为对整批取平均，外积于是变成对样本求和的矩阵乘法）。
""",
    ),
    code(
        """
from bprop.viz import build_network

net = build_network([3, 5, 4, 4, 2], "sigmoid", seed=1)
Ws = [np.asarray(layer.weight) for layer in net if hasattr(layer, "weight")]
bs = [np.asarray(layer.bias) for layer in net if hasattr(layer, "bias")]
X = np.random.default_rng(0).normal(size=(8, 3))
Y = np.random.default_rng(1).uniform(size=(8, 2))

a = [X]                                       # a[l] for l = 0 … L, one row per sample
for W, b in zip(Ws, bs):
    a.append(sigmoid(a[-1] @ W.T + b))
C_deep = 0.5 * np.mean(np.sum((a[-1] - Y) ** 2, axis=1))

deltas = [None] * len(Ws)
deltas[-1] = (a[-1] - Y) * a[-1] * (1 - a[-1]) / len(X)
for l in range(len(Ws) - 2, -1, -1):          # backwards
    deltas[l] = a[l + 1] * (1 - a[l + 1]) * (deltas[l + 1] @ Ws[l + 1])
grads = [d.T @ a_prev for d, a_prev in zip(deltas, a[:-1])]

out = net(bp.tensor(X))
loss_deep = 0.5 * ((out - bp.tensor(Y)) ** 2).sum(dim=1).mean()
loss_deep.backward()
linears = [layer for layer in net if hasattr(layer, "weight")]
for l, (g, layer) in enumerate(zip(grads, linears), start=1):
    np.testing.assert_allclose(np.asarray(layer.weight.grad), g, rtol=1e-10)
    print(f"layer {l}: mean |δ| = {np.abs(deltas[l - 1]).mean():.2e}   ∂C/∂W agrees with bprop")
""",
        """
from bprop.viz import build_network

net = build_network([3, 5, 4, 4, 2], "sigmoid", seed=1)
Ws = [np.asarray(layer.weight) for layer in net if hasattr(layer, "weight")]
bs = [np.asarray(layer.bias) for layer in net if hasattr(layer, "bias")]
X = np.random.default_rng(0).normal(size=(8, 3))
Y = np.random.default_rng(1).uniform(size=(8, 2))

a = [X]                                       # a[l]，l = 0 … L，每行一个样本
for W, b in zip(Ws, bs):
    a.append(sigmoid(a[-1] @ W.T + b))
C_deep = 0.5 * np.mean(np.sum((a[-1] - Y) ** 2, axis=1))

deltas = [None] * len(Ws)
deltas[-1] = (a[-1] - Y) * a[-1] * (1 - a[-1]) / len(X)
for l in range(len(Ws) - 2, -1, -1):          # 从后往前
    deltas[l] = a[l + 1] * (1 - a[l + 1]) * (deltas[l + 1] @ Ws[l + 1])
grads = [d.T @ a_prev for d, a_prev in zip(deltas, a[:-1])]

out = net(bp.tensor(X))
loss_deep = 0.5 * ((out - bp.tensor(Y)) ** 2).sum(dim=1).mean()
loss_deep.backward()
linears = [layer for layer in net if hasattr(layer, "weight")]
for l, (g, layer) in enumerate(zip(grads, linears), start=1):
    np.testing.assert_allclose(np.asarray(layer.weight.grad), g, rtol=1e-10)
    print(f"第 {l} 层：|δ| 平均 = {np.abs(deltas[l - 1]).mean():.2e}   ∂C/∂W 与 bprop 一致")
""",
    ),
    md(
        """
Notice how |δ| shrinks towards the first layer: each step back multiplies by σ′ ≤ ¼. This is the
*vanishing gradient* of deep sigmoid nets, which lesson 4 meets again with the DeltaRecorder.

## explain: every number of the pass, inline

`bp.viz.explain()` does all of the above for the teaching network and shows it: each layer's
input and output, δ, the formula applied to the numbers, and beside each gradient what bprop's
autograd and finite differences find.
""",
        """
注意 |δ| 越往前越小：每往回走一层都要乘上 σ′ ≤ ¼。这就是深层 sigmoid 网络的*梯度消失*，
第 4 课会用 DeltaRecorder 再看到它。

## explain：整个过程的每一个数，直接显示在笔记本里

`bp.viz.explain()` 对这个教学网络把上面的一切都做一遍并展示出来：每层的输入输出、δ、代入数字
的公式，以及每个梯度旁边 bprop 自动求导和有限差分给出的值。
""",
    ),
    code(
        """
e = bp.viz.explain()
assert round(e.loss, 9) == 0.298371109 and e.max_discrepancy < 1e-6
e
""",
        """
e = bp.viz.explain()
assert round(e.loss, 9) == 0.298371109 and e.max_discrepancy < 1e-6
bp.viz.show(e, lang="zh")
""",
    ),
    md(
        """
## The step-through viewer

`bp.viz.view_inline(loss, params)` runs `loss.backward()` and shows the computation graph with
buttons: step forward through the ops, then backward one node at a time and watch δ flow, with
each op's backward formula and a local finite-difference check.
""",
        """
## 逐步查看器

`bp.viz.view_inline(loss, params)` 执行 `loss.backward()`，并把计算图连同按钮一起显示出来：先一步步
前向经过每个运算，再一个节点一个节点地反向，看 δ 怎样流动；每个运算都附有它的反向公式和局部的
有限差分检查。
""",
    ),
    code(
        """
model, x0, y0 = teaching_network()
loss = 0.5 * ((model(bp.tensor(x0[None])) - bp.tensor(y0[None])) ** 2).sum()
bp.viz.view_inline(loss, dict(model.named_parameters()))
""",
        """
model, x0, y0 = teaching_network()
loss = 0.5 * ((model(bp.tensor(x0[None])) - bp.tensor(y0[None])) ** 2).sum()
bp.viz.view_inline(loss, dict(model.named_parameters()), lang="zh")
""",
    ),
    md(
        """
## One step of gradient descent

With the gradients known, every weight moves against its gradient: w := w − η ∂C/∂w. With the
step η = 0.5, w5 becomes 0.40 − 0.5 · 0.082167041 = 0.358916480, and the cost goes down.
""",
        """
## 梯度下降走一步

梯度有了，每个权重都朝梯度的反方向挪一步：w := w − η ∂C/∂w。取步长 η = 0.5，w5 变成
0.40 − 0.5 · 0.082167041 = 0.358916480，代价随之下降。
""",
    ),
    code(
        """
eta = 0.5
W1_new, W2_new = W1 - eta * dW1, W2 - eta * dW2
b1_new, b2_new = b1 - eta * delta1, b2 - eta * delta2
a2_new = sigmoid(W2_new @ sigmoid(W1_new @ x + b1_new) + b2_new)
C_new = 0.5 * np.sum((a2_new - y) ** 2)
print(f"w5: {W2[0, 0]} → {W2_new[0, 0]:.9f};  C: {C:.9f} → {C_new:.9f}")
assert round(W2_new[0, 0], 9) == 0.358916480 and C_new < C
assert abs(C_new - e.new_loss) < 1e-12       # explain took the same step
""",
        """
eta = 0.5
W1_new, W2_new = W1 - eta * dW1, W2 - eta * dW2
b1_new, b2_new = b1 - eta * delta1, b2 - eta * delta2
a2_new = sigmoid(W2_new @ sigmoid(W1_new @ x + b1_new) + b2_new)
C_new = 0.5 * np.sum((a2_new - y) ** 2)
print(f"w5：{W2[0, 0]} → {W2_new[0, 0]:.9f}；C：{C:.9f} → {C_new:.9f}")
assert round(W2_new[0, 0], 9) == 0.358916480 and C_new < C
assert abs(C_new - e.new_loss) < 1e-12       # explain 走的也是这一步
""",
    ),
    md(
        """
## Exercise: the sigmoid's backward

Write `backward(dout, cache)` for the sigmoid: `cache` is the forward's output s = σ(x), `dout`
is ∂L/∂s; return ∂L/∂x. Replace the `raise` line, run the cell, and read the report: it compares
your function with bprop's backward and with finite differences on random inputs, and names the
mistake when it recognises it.
""",
        """
## 练习：sigmoid 的反向传播

为 sigmoid 写出 `backward(dout, cache)`：`cache` 是前向的输出 s = σ(x)，`dout` 是 ∂L/∂s；返回 ∂L/∂x。
把 `raise` 那一行换成你的代码，运行这个单元格，读一读报告：它在随机输入上把你的函数与 bprop 的
反向传播、与有限差分逐一比较，认得出的错误会直接指出来。
""",
    ),
    code(
        """
from bprop.exercise import check_backward

def backward(dout, cache):
    s = cache
    raise NotImplementedError("your line: dx = …")
    return dx

check_backward("sigmoid", backward)
""",
        """
from bprop.exercise import check_backward

def backward(dout, cache):
    s = cache
    raise NotImplementedError("在这里写：dx = …")
    return dx

check_backward("sigmoid", backward)
""",
    ),
    md(
        """
A solution, to compare with yours once you have tried:
""",
        """
参考答案（先自己做，再对照）：
""",
    ),
    code(
        """
def backward(dout, cache):
    s = cache
    dx = dout * s * (1 - s)
    return dx

report = check_backward("sigmoid", backward)
assert report.ok
report
"""
    ),
]

# ===================================================================================== lesson 02
L02 = [
    md(
        """
# Lesson 2 · Convolution, and the backward pass the note left as a TODO

The second note introduces the convolution layer — cross-correlation versus convolution, stride,
padding, output size, pooling, channels — and stops at its backward pass ("too hard for now").
This lesson goes over the forward pass with small integer tensors, then derives the backward
pass step by step and checks every formula against bprop and finite differences.
(`docs/cnn-backprop.md` has the full derivation in the same notation.)
""",
        """
# 第 2 课 · 卷积，以及笔记留下的反向传播 TODO

第二篇笔记介绍了卷积层——互相关与卷积的区别、步长、填充、输出尺寸、池化、通道——却在反向传播
处停了下来（"太难弄了，放一放"）。这一课先用小的整数张量把前向过程走一遍，再一步一步推导反向
传播，每个公式都与 bprop 和有限差分核对。（完整推导见 `docs/cnn-backprop.md`，记号相同。）
""",
    ),
    code(
        """
import numpy as np
import bprop as bp
import bprop.nn.functional as F

def correlate(x, k):
    \"\"\"Cross-correlation, valid part: out[i, j] = Σ_m Σ_n x[i + m, j + n] · k[m, n].\"\"\"
    R, S = k.shape
    P, Q = x.shape[0] - R + 1, x.shape[1] - S + 1
    return np.array([[np.sum(x[i:i + R, j:j + S] * k) for j in range(Q)] for i in range(P)])

def rot180(k):
    return k[::-1, ::-1]

x = np.arange(16.0).reshape(4, 4)
k = np.array([[1.0, 2.0], [0.0, -1.0]])
print("x =\\n", x, "\\nk =\\n", k)
""",
        """
import numpy as np
import bprop as bp
import bprop.nn.functional as F

def correlate(x, k):
    \"\"\"互相关（只取完整重叠的部分）：out[i, j] = Σ_m Σ_n x[i + m, j + n] · k[m, n]。\"\"\"
    R, S = k.shape
    P, Q = x.shape[0] - R + 1, x.shape[1] - S + 1
    return np.array([[np.sum(x[i:i + R, j:j + S] * k) for j in range(Q)] for i in range(P)])

def rot180(k):
    return k[::-1, ::-1]

x = np.arange(16.0).reshape(4, 4)
k = np.array([[1.0, 2.0], [0.0, -1.0]])
print("x =\\n", x, "\\nk =\\n", k)
""",
    ),
    md(
        """
## Cross-correlation and convolution

What deep-learning libraries call a convolution is the **cross-correlation**
(x ⋆ k)[i, j] = Σ_m Σ_n x[i + m, j + n] k[m, n]: slide the kernel, multiply, add. The
**convolution** of mathematics runs the kernel backwards, x[i − m, j − n]; that is the same as a
cross-correlation with the kernel **rotated by 180°**. For learning the difference does not matter
(the net learns the rotated kernel), but it comes back in the backward pass.
""",
        """
## 互相关与卷积

深度学习库里所说的"卷积"其实是**互相关**：(x ⋆ k)[i, j] = Σ_m Σ_n x[i + m, j + n] k[m, n]——
滑动卷积核，对应元素相乘再求和。数学上的**卷积**让卷积核倒着走，取 x[i − m, j − n]；这等于先把
卷积核**旋转 180°** 再做互相关。对学习来说两者没有区别（网络学到的只是旋转过的核），但在反向传播
里它会再次出现。
""",
    ),
    code(
        """
cc = correlate(x, k)
print("x ⋆ k (cross-correlation) =\\n", cc)
print("x ∗ k (convolution = cross-correlation with rot180(k)) =\\n", correlate(x, rot180(k)))
out = F.conv2d(bp.tensor(x[None, None]), bp.tensor(k[None, None]))
assert np.array_equal(np.asarray(out)[0, 0], cc)     # bprop's conv2d is the cross-correlation
"""
    ),
    md(
        """
## Stride, padding and the output size

With stride u (the kernel jumps u pixels) and zero padding a on each side, an H-pixel input and
an R-pixel kernel give

**P = ⌊(H + 2a − R) / u⌋ + 1** outputs.

The note writes P = (H − R + 1 + 2a)/u rounded up; for whole numbers the two are the same, as the
cell below checks for every small case, together with bprop's output shape.
""",
        """
## 步长、填充与输出尺寸

步长为 u（卷积核每次跳 u 个像素）、每边补 a 圈零时，H 个像素的输入配 R 个像素的卷积核，输出为

**P = ⌊(H + 2a − R) / u⌋ + 1** 个。

笔记写的是 P = (H − R + 1 + 2a)/u 再向上取整；对整数而言两者相同，下面的单元格把所有小的情形
都核对一遍，连同 bprop 实际输出的形状。
""",
    ),
    code(
        """
import math

checked = 0
for H in range(3, 9):
    for R in range(1, 4):
        for a in range(0, 3):
            for u in range(1, 4):
                if H + 2 * a < R:
                    continue
                P = (H + 2 * a - R) // u + 1
                assert P == math.ceil((H - R + 1 + 2 * a) / u)
                y = F.conv2d(bp.zeros(1, 1, H, H), bp.zeros(1, 1, R, R), stride=u, padding=a)
                assert y.shape[-2:] == (P, P)
                checked += 1
print(f"{checked} cases: the formula, the note's rounded-up form and bprop agree")
y = F.conv2d(bp.tensor(x[None, None]), bp.tensor(k[None, None]), stride=2, padding=1)
print("stride 2, padding 1:\\n", np.asarray(y)[0, 0])
""",
        """
import math

checked = 0
for H in range(3, 9):
    for R in range(1, 4):
        for a in range(0, 3):
            for u in range(1, 4):
                if H + 2 * a < R:
                    continue
                P = (H + 2 * a - R) // u + 1
                assert P == math.ceil((H - R + 1 + 2 * a) / u)
                y = F.conv2d(bp.zeros(1, 1, H, H), bp.zeros(1, 1, R, R), stride=u, padding=a)
                assert y.shape[-2:] == (P, P)
                checked += 1
print(f"共 {checked} 种情形：公式、笔记的向上取整写法与 bprop 全部一致")
y = F.conv2d(bp.tensor(x[None, None]), bp.tensor(k[None, None]), stride=2, padding=1)
print("步长 2、填充 1：\\n", np.asarray(y)[0, 0])
""",
    ),
    md(
        """
## Pooling and channels

**Pooling** summarises each window: max pooling keeps the largest value, average pooling the mean.
It has no weights. **Channels**: a colour image has three input channels (R, G, B); a kernel then
has one R×S slice per input channel, and an output channel is the *sum* of the per-channel
cross-correlations plus a bias. O output channels need O such kernels: a weight of shape
(O, C, R, S).
""",
        """
## 池化与通道

**池化**把每个窗口概括成一个数：最大池化取最大值，平均池化取平均。它没有权重。**通道**：彩色图像
有三个输入通道（R、G、B）；这时一个卷积核对每个输入通道各有一片 R×S 的权重，一个输出通道等于
各通道互相关之*和*再加偏置。要 O 个输出通道就需要 O 个这样的卷积核，权重形状为 (O, C, R, S)。
""",
    ),
    code(
        """
print("max pool 2×2:\\n", np.asarray(F.max_pool2d(bp.tensor(x[None, None]), 2))[0, 0])
print("avg pool 2×2:\\n", np.asarray(F.avg_pool2d(bp.tensor(x[None, None]), 2))[0, 0])

x2 = np.stack([x, x[::-1]])                              # two input channels
K2 = np.array([[[[1.0, 0.0], [0.0, 1.0]], [[0.0, 1.0], [-1.0, 0.0]]]])   # (O=1, C=2, 2, 2)
by_hand = correlate(x2[0], K2[0, 0]) + correlate(x2[1], K2[0, 1]) + 0.5
by_bprop = np.asarray(F.conv2d(bp.tensor(x2[None]), bp.tensor(K2), bp.tensor([0.5], dtype=np.float64)))[0, 0]
assert np.array_equal(by_hand, by_bprop)
print("two channels: sum of per-channel cross-correlations + bias =\\n", by_hand)
""",
        """
print("2×2 最大池化：\\n", np.asarray(F.max_pool2d(bp.tensor(x[None, None]), 2))[0, 0])
print("2×2 平均池化：\\n", np.asarray(F.avg_pool2d(bp.tensor(x[None, None]), 2))[0, 0])

x2 = np.stack([x, x[::-1]])                              # 两个输入通道
K2 = np.array([[[[1.0, 0.0], [0.0, 1.0]], [[0.0, 1.0], [-1.0, 0.0]]]])   # (O=1, C=2, 2, 2)
by_hand = correlate(x2[0], K2[0, 0]) + correlate(x2[1], K2[0, 1]) + 0.5
by_bprop = np.asarray(F.conv2d(bp.tensor(x2[None]), bp.tensor(K2), bp.tensor([0.5], dtype=np.float64)))[0, 0]
assert np.array_equal(by_hand, by_bprop)
print("两个通道：各通道互相关之和 + 偏置 =\\n", by_hand)
""",
    ),
    md(
        """
## The backward pass, step by step

Take z = x ⋆ k + b (stride 1, no padding) and let δ = ∂C/∂z come from above. Every output z[i, j]
is a sum of products, so the chain rule sums over the outputs each number touched:

1. **Bias**: b is added to every output, ∂z[i, j]/∂b = 1, so **∂C/∂b = Σ_ij δ[i, j]**.
2. **Kernel**: ∂z[i, j]/∂k[m, n] = x[i + m, j + n], so
   **∂C/∂k[m, n] = Σ_ij δ[i, j] · x[i + m, j + n] = (x ⋆ δ)[m, n]** — the input cross-correlated
   with δ. (The fully connected ∂C/∂W = δ·aᵀ, with sharing: every position uses the same k.)
3. **Input**: x[p, q] meets k[m, n] in output z[p − m, q − n], so
   ∂C/∂x[p, q] = Σ_mn δ[p − m, q − n] · k[m, n] — a **true convolution** of δ with k. Pad δ with
   R − 1 zeros all round and it becomes a cross-correlation with the rotated kernel:
   **∂C/∂x = pad(δ) ⋆ rot180(k)**. Here the 180° rotation comes back.

Small integers keep every number exact, so the comparisons below are equalities.
""",
        """
## 反向传播，一步一步来

设 z = x ⋆ k + b（步长 1、不填充），δ = ∂C/∂z 从上一层传下来。每个输出 z[i, j] 都是一堆乘积之和，
所以由链式法则，对每个数要把它参与过的所有输出加起来：

1. **偏置**：b 加到了每个输出上，∂z[i, j]/∂b = 1，于是 **∂C/∂b = Σ_ij δ[i, j]**。
2. **卷积核**：∂z[i, j]/∂k[m, n] = x[i + m, j + n]，于是
   **∂C/∂k[m, n] = Σ_ij δ[i, j] · x[i + m, j + n] = (x ⋆ δ)[m, n]**——输入与 δ 做互相关。
   （这就是全连接层的 ∂C/∂W = δ·aᵀ，只是权重共享：每个位置用的都是同一个 k。）
3. **输入**：x[p, q] 在输出 z[p − m, q − n] 里与 k[m, n] 相乘，于是
   ∂C/∂x[p, q] = Σ_mn δ[p − m, q − n] · k[m, n]——δ 与 k 的**真正的卷积**。把 δ 四周补上 R − 1 圈零，
   它就变成与旋转后的卷积核做互相关：**∂C/∂x = pad(δ) ⋆ rot180(k)**。180° 旋转在这里又出现了。

用小整数，每个数都是精确的，所以下面的比较都是严格相等。
""",
    ),
    code(
        """
delta = np.array([[1.0, -1.0, 2.0], [0.0, 3.0, 1.0], [-2.0, 1.0, 0.0]])   # ∂C/∂z, 3×3
db = delta.sum()
dk = correlate(x, delta)
dx = correlate(np.pad(delta, 1), rot180(k))
print("∂C/∂b =", db, "\\n∂C/∂k =\\n", dk, "\\n∂C/∂x =\\n", dx)

xt = bp.tensor(x[None, None], requires_grad=True)
kt = bp.tensor(k[None, None], requires_grad=True)
bt = bp.tensor([0.0], dtype=np.float64, requires_grad=True)
(F.conv2d(xt, kt, bt) * bp.tensor(delta[None, None])).sum().backward()   # C = Σ δ·z, so ∂C/∂z = δ
assert np.array_equal(np.asarray(kt.grad)[0, 0], dk)
assert np.array_equal(np.asarray(xt.grad)[0, 0], dx)
assert np.asarray(bt.grad)[0] == db
print("the three formulas give exactly bprop's gradients")
""",
        """
delta = np.array([[1.0, -1.0, 2.0], [0.0, 3.0, 1.0], [-2.0, 1.0, 0.0]])   # ∂C/∂z，3×3
db = delta.sum()
dk = correlate(x, delta)
dx = correlate(np.pad(delta, 1), rot180(k))
print("∂C/∂b =", db, "\\n∂C/∂k =\\n", dk, "\\n∂C/∂x =\\n", dx)

xt = bp.tensor(x[None, None], requires_grad=True)
kt = bp.tensor(k[None, None], requires_grad=True)
bt = bp.tensor([0.0], dtype=np.float64, requires_grad=True)
(F.conv2d(xt, kt, bt) * bp.tensor(delta[None, None])).sum().backward()   # C = Σ δ·z，故 ∂C/∂z = δ
assert np.array_equal(np.asarray(kt.grad)[0, 0], dk)
assert np.array_equal(np.asarray(xt.grad)[0, 0], dx)
assert np.asarray(bt.grad)[0] == db
print("三个公式给出的梯度与 bprop 完全相同")
""",
    ),
    md(
        """
## Stride and padding in the backward pass

* **Stride u**: output (i, j) read the input at (u·i + m, u·j + n). Spread δ out by putting u − 1
  zeros between its entries (*dilate* it); then the stride-1 formulas hold again.
* **Padding a**: the forward pass read a padded input x̃. Compute ∂C/∂x̃ as above, then **crop**
  the border: the padded zeros are not inputs and get no gradient.

Checked below with random numbers against bprop and against finite differences (`bp.gradcheck`).
""",
        """
## 反向传播中的步长与填充

* **步长 u**：输出 (i, j) 读取的是输入的 (u·i + m, u·j + n)。在 δ 的相邻元素之间插入 u − 1 个零
  （把 δ *膨胀*开），步长为 1 的公式就又成立了。
* **填充 a**：前向读的是补过零的输入 x̃。照上面求出 ∂C/∂x̃，再把边框**裁掉**：补的零不是输入，
  没有梯度。

下面用随机数与 bprop、与有限差分（`bp.gradcheck`）核对。
""",
    ),
    code(
        """
def dilate(d, u):
    out = np.zeros(((d.shape[0] - 1) * u + 1, (d.shape[1] - 1) * u + 1))
    out[::u, ::u] = d
    return out

rng = np.random.default_rng(0)
xs, ks, u, a = rng.normal(size=(5, 5)), rng.normal(size=(3, 3)), 2, 1
xp = np.pad(xs, a)
P = (5 + 2 * a - 3) // u + 1
ds = rng.normal(size=(P, P))
dd = dilate(ds, u)
dk_s = correlate(xp[:dd.shape[0] + 2, :dd.shape[1] + 2], dd)
dxp = np.zeros_like(xp)
full = correlate(np.pad(dd, 2), rot180(ks))
dxp[:full.shape[0], :full.shape[1]] = full
dx_s = dxp[a:-a, a:-a]                                    # crop the padding

xt = bp.tensor(xs[None, None], requires_grad=True)
kt = bp.tensor(ks[None, None], requires_grad=True)
(F.conv2d(xt, kt, stride=u, padding=a) * bp.tensor(ds[None, None])).sum().backward()
np.testing.assert_allclose(np.asarray(kt.grad)[0, 0], dk_s, rtol=1e-12)
np.testing.assert_allclose(np.asarray(xt.grad)[0, 0], dx_s, rtol=1e-12, atol=1e-14)
assert bp.gradcheck(lambda x_, k_: (F.conv2d(x_, k_, stride=u, padding=a) * bp.tensor(ds[None, None])).sum(),
                    [bp.tensor(xs[None, None], requires_grad=True), bp.tensor(ks[None, None], requires_grad=True)])
print("stride 2, padding 1: dilate δ, full correlation with rot180(k), crop — agrees with bprop and finite differences")
""",
        """
def dilate(d, u):
    out = np.zeros(((d.shape[0] - 1) * u + 1, (d.shape[1] - 1) * u + 1))
    out[::u, ::u] = d
    return out

rng = np.random.default_rng(0)
xs, ks, u, a = rng.normal(size=(5, 5)), rng.normal(size=(3, 3)), 2, 1
xp = np.pad(xs, a)
P = (5 + 2 * a - 3) // u + 1
ds = rng.normal(size=(P, P))
dd = dilate(ds, u)
dk_s = correlate(xp[:dd.shape[0] + 2, :dd.shape[1] + 2], dd)
dxp = np.zeros_like(xp)
full = correlate(np.pad(dd, 2), rot180(ks))
dxp[:full.shape[0], :full.shape[1]] = full
dx_s = dxp[a:-a, a:-a]                                    # 裁掉填充

xt = bp.tensor(xs[None, None], requires_grad=True)
kt = bp.tensor(ks[None, None], requires_grad=True)
(F.conv2d(xt, kt, stride=u, padding=a) * bp.tensor(ds[None, None])).sum().backward()
np.testing.assert_allclose(np.asarray(kt.grad)[0, 0], dk_s, rtol=1e-12)
np.testing.assert_allclose(np.asarray(xt.grad)[0, 0], dx_s, rtol=1e-12, atol=1e-14)
assert bp.gradcheck(lambda x_, k_: (F.conv2d(x_, k_, stride=u, padding=a) * bp.tensor(ds[None, None])).sum(),
                    [bp.tensor(xs[None, None], requires_grad=True), bp.tensor(ks[None, None], requires_grad=True)])
print("步长 2、填充 1：膨胀 δ，与 rot180(k) 做完整互相关，再裁剪——与 bprop、有限差分都一致")
""",
    ),
    md(
        """
## Max pooling's backward

Near x, the max of a window *is* its largest entry: its derivative is 1 for that entry and 0 for
the others. So each δ goes back to the place of its window's maximum, and nowhere else.
""",
        """
## 最大池化的反向传播

在 x 附近，一个窗口的最大值*就是*其中最大的那个元素：对它的导数为 1，对其余元素为 0。所以每个 δ
只回到它所在窗口最大值的位置，别处都是 0。
""",
    ),
    code(
        """
xm = np.array([[1.0, 3.0, 2.0, 0.0], [4.0, 2.0, 1.0, 5.0], [0.0, 1.0, 2.0, 2.5], [3.0, 2.0, 1.0, 0.0]])
dm = np.array([[10.0, 20.0], [30.0, 40.0]])
xt = bp.tensor(xm[None, None], requires_grad=True)
(F.max_pool2d(xt, 2) * bp.tensor(dm[None, None])).sum().backward()
routed = np.asarray(xt.grad)[0, 0]
print(routed)
assert routed[1, 0] == 10 and routed[1, 3] == 20 and routed[3, 0] == 30 and routed[2, 3] == 40
assert routed.sum() == dm.sum()
"""
    ),
    md(
        """
## Exercise: the convolution layer's backward

The forward below (the exercise's) handles a batch (N, C, H, W), F kernels, stride and padding.
Write its backward: `cache = (x, w, b, stride, pad)`; return `(dx, dw, db)`. Hint: loop over the
output positions (i, j) as the forward does, and send `dout[:, :, i, j]` back along the window it
came from; remember that windows overlap (add) and that padding is cropped at the end.
""",
        """
## 练习：卷积层的反向传播

练习里的前向处理一批数据 (N, C, H, W)、F 个卷积核，带步长和填充。写出它的反向传播：
`cache = (x, w, b, stride, pad)`，返回 `(dx, dw, db)`。提示：像前向那样遍历输出位置 (i, j)，把
`dout[:, :, i, j]` 沿它来的那个窗口送回去；窗口会重叠（要累加），填充最后要裁掉。
""",
    ),
    code(
        """
from bprop.exercise import check_backward

def backward(dout, cache):
    x, w, b, stride, pad = cache
    raise NotImplementedError("your code: dx, dw, db")
    return dx, dw, db

check_backward("conv", backward)
""",
        """
from bprop.exercise import check_backward

def backward(dout, cache):
    x, w, b, stride, pad = cache
    raise NotImplementedError("在这里写：dx, dw, db")
    return dx, dw, db

check_backward("conv", backward)
""",
    ),
    md(
        """
A solution, to compare with yours once you have tried:
""",
        """
参考答案（先自己做，再对照）：
""",
    ),
    code(
        """
def backward(dout, cache):
    x, w, b, stride, pad = cache
    H, W = x.shape[2:]
    HH, WW = w.shape[2:]
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    db = dout.sum(axis=(0, 2, 3))
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            rows, cols = slice(i * stride, i * stride + HH), slice(j * stride, j * stride + WW)
            dw += np.tensordot(dout[:, :, i, j], xp[:, :, rows, cols], axes=([0], [0]))
            dxp[:, :, rows, cols] += np.tensordot(dout[:, :, i, j], w, axes=([1], [0]))
    dx = dxp[:, :, pad:pad + H, pad:pad + W]
    return dx, dw, db

report = check_backward("conv", backward)
assert report.ok
report
"""
    ),
]

# ===================================================================================== lesson 03
L03 = [
    md(
        """
# Lesson 3 · The intuition: slopes, nudges and walking backwards

The third note builds backpropagation from a single idea: a derivative is a slope. To make a
function smaller, step against its slope; to find the slope of the loss with respect to one weight,
nudge that weight and watch the loss. Backpropagation is then just an efficient way of getting all
those slopes at once, by walking the computation backwards.
""",
        """
# 第 3 课 · 直观理解：斜率、微调与反向行走

第三篇笔记从一个想法出发讲反向传播：导数就是斜率。想让函数变小，就逆着斜率走一步；想知道损失对
某个权重的斜率，就把这个权重轻轻挪一点，看损失变多少。反向传播不过是把所有这些斜率一次算出来的
高效办法：沿着计算过程倒着走。
""",
    ),
    code(
        """
import numpy as np
import matplotlib.pyplot as plt
import bprop as bp

def f(x):
    return (x - 2) ** 2 + 1

def f_prime(x):
    return 2 * (x - 2)

x0 = 0.5
hs = np.logspace(-12, 0, 25)
central = np.array([(f(x0 + h) - f(x0 - h)) / (2 * h) for h in hs])
error = np.abs(central - f_prime(x0))
print(f"f'(0.5) = {f_prime(x0)};  (f(x+h) − f(x−h))/2h with h = 1e-6: {(f(x0 + 1e-6) - f(x0 - 1e-6)) / 2e-6:.9f}")
"""
    ),
    md(
        """
## A derivative is a slope

f′(x) = lim_{h→0} (f(x + h) − f(x))/h is the slope of the curve at x. A computer cannot take the
limit, but a small h gives a good estimate — best as the *centred* difference
(f(x + h) − f(x − h))/2h. Too large an h measures the curve's bend; too small an h drowns in
rounding error. The plot shows both ends; h ≈ 10⁻⁶ is about right in float64.
""",
        """
## 导数就是斜率

f′(x) = lim_{h→0} (f(x + h) − f(x))/h 是曲线在 x 处的斜率。计算机取不了极限，但 h 取得小，就能
估得准——最好用*中心差分* (f(x + h) − f(x − h))/2h。h 太大，量到的是曲线的弯曲；h 太小，又被
舍入误差淹没。图里两头都看得到；在 float64 下 h ≈ 10⁻⁶ 比较合适。
""",
    ),
    code(
        """
xs = np.linspace(-0.5, 4, 100)
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.2))
left.plot(xs, f(xs))
left.plot(xs, f(x0) + f_prime(x0) * (xs - x0), "--")
left.plot([x0], [f(x0)], "o")
left.set_ylim(0, 8); left.set_title("f(x) = (x − 2)² + 1 and its tangent at x = 0.5")
right.loglog(hs, error + 1e-17, "o-")
right.set_xlabel("h"); right.set_title("|centred difference − f′(0.5)|")
plt.tight_layout(); plt.show()
assert error[hs.searchsorted(1e-6)] < 1e-8
"""
    ),
    md(
        """
## Nudging one weight

The note's example: a neuron with inputs (0.5, 0.7, 0.35) and weights (w1, 0.3, 0.8), sigmoid
output, target 1, loss (σ(w1·0.5 + 0.3·0.7 + 0.8·0.35) − 1)². Everything but w1 is a number, so
the loss is a function of w1 alone, and its slope can be measured by nudging w1 — or computed
with the chain rule, or by bprop. All three agree.
""",
        """
## 微调一个权重

笔记里的例子：一个神经元，输入 (0.5, 0.7, 0.35)，权重 (w1, 0.3, 0.8)，sigmoid 输出，目标为 1，
损失为 (σ(w1·0.5 + 0.3·0.7 + 0.8·0.35) − 1)²。除了 w1 全是已知数，损失就成了 w1 的一元函数；它的
斜率可以把 w1 挪一点去量，可以用链式法则算，也可以交给 bprop。三者一致。
""",
    ),
    code(
        """
def loss_of(w1):
    u = w1 * 0.5 + 0.3 * 0.7 + 0.8 * 0.35
    s = 1 / (1 + np.exp(-u))
    return (s - 1) ** 2

w1, eps = 0.2, 1e-6
nudged = (loss_of(w1 + eps) - loss_of(w1 - eps)) / (2 * eps)

u = w1 * 0.5 + 0.3 * 0.7 + 0.8 * 0.35
s = 1 / (1 + np.exp(-u))
chain = 2 * (s - 1) * s * (1 - s) * 0.5          # dloss/ds · ds/du · du/dw1

w = bp.tensor([w1, 0.3, 0.8], dtype=np.float64, requires_grad=True)
inputs = bp.tensor([0.5, 0.7, 0.35], dtype=np.float64)
(((w * inputs).sum().sigmoid() - 1) ** 2).backward()
print(f"nudge: {nudged:.10f}   chain rule: {chain:.10f}   bprop: {np.asarray(w.grad)[0]:.10f}")
assert abs(nudged - chain) < 1e-9 and abs(np.asarray(w.grad)[0] - chain) < 1e-15
"""
    ),
    md(
        """
## Gradient descent, and the size of the step

To lower C, move each weight against its slope: w := w − η·∂C/∂w. The step size η matters. For
C(w) = (w − 3)², each step multiplies the distance to the minimum by (1 − 2η):

* η = 0.1: factor 0.8 — a steady slide down (**converges**);
* η = 0.9: factor −0.8 — it jumps over the minimum each time, back and forth (**oscillates**, but
  still converges);
* η = 1.1: factor −1.2 — each jump lands further away (**diverges**).

As the note warns: too large a step can jump right past the lowest point.
""",
        """
## 梯度下降与步长

要让 C 变小，就让每个权重逆着斜率走：w := w − η·∂C/∂w。步长 η 很关键。对 C(w) = (w − 3)²，每走一步，
离最低点的距离都乘上 (1 − 2η)：

* η = 0.1：乘 0.8——平稳地滑下去（**收敛**）；
* η = 0.9：乘 −0.8——每一步都跳过最低点，来回摆动（**振荡**，但仍收敛）；
* η = 1.1：乘 −1.2——每一跳都落得更远（**发散**）。

正如笔记所说：步子太大，可能一步就迈过了最低点。
""",
    ),
    code(
        """
def descend(eta, w=0.0, steps=20):
    path = [w]
    for _ in range(steps):
        w = w - eta * 2 * (w - 3)
        path.append(w)
    return np.array(path)

paths = {eta: descend(eta) for eta in (0.1, 0.9, 1.1)}
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.2))
ws = np.linspace(-2, 8, 200)
left.plot(ws, (ws - 3) ** 2, color="0.6")
for eta, path in paths.items():
    left.plot(path[:8], (path[:8] - 3) ** 2, "o-", label=f"η = {eta}")
    right.plot(np.abs(path - 3), label=f"η = {eta}")
left.set_xlim(-2, 8); left.set_ylim(0, 30); left.legend(); left.set_title("C(w) = (w − 3)², first steps")
right.set_yscale("log"); right.set_xlabel("step"); right.set_title("|w − 3|"); right.legend()
plt.tight_layout(); plt.show()
assert abs(paths[0.1][-1] - 3) < 0.05 and abs(paths[0.9][-1] - 3) < 0.05 and abs(paths[1.1][-1] - 3) > 100
assert np.all(np.diff(np.sign(paths[0.9][1:] - 3)) != 0)    # η = 0.9 changes side at every step
"""
    ),
    md(
        """
## The chain rule as a walk backwards

The loss above is a composition: u = w·x, s = σ(u), d = s − 1, L = d². Its derivative is the
product of the local derivatives, taken from the outside in — from the loss back to the weight.
This is why it is called *back*propagation. bprop does exactly this walk; `retain_grad()` keeps the
intermediate gradients so we can read each step of it.
""",
        """
## 链式法则：倒着走一遍

上面的损失是一层套一层的复合函数：u = w·x，s = σ(u)，d = s − 1，L = d²。它的导数是各层局部导数之积，
从外往里取——从损失一路倒回到权重。"*反向*传播"的名字就是这么来的。bprop 正是这样倒着走的；
用 `retain_grad()` 留下中间结果的梯度，就能看清每一步。
""",
    ),
    code(
        """
w = bp.tensor([w1, 0.3, 0.8], dtype=np.float64, requires_grad=True)
u_t = (w * inputs).sum(); u_t.retain_grad()
s_t = u_t.sigmoid(); s_t.retain_grad()
d_t = s_t - 1; d_t.retain_grad()
L = d_t ** 2
L.backward()
d_val, s_val = d_t.item(), s_t.item()
steps = [
    ("∂L/∂d = 2d", 2 * d_val, d_t.grad.item()),
    ("∂L/∂s = ∂L/∂d · 1", 2 * d_val, s_t.grad.item()),
    ("∂L/∂u = ∂L/∂s · s(1 − s)", 2 * d_val * s_val * (1 - s_val), u_t.grad.item()),
    ("∂L/∂w1 = ∂L/∂u · x1", 2 * d_val * s_val * (1 - s_val) * 0.5, np.asarray(w.grad)[0]),
]
for what, by_hand, by_bprop in steps:
    print(f"{what:<28} by hand {by_hand:+.9f}   bprop {by_bprop:+.9f}")
    assert abs(by_hand - by_bprop) < 1e-15
""",
        """
w = bp.tensor([w1, 0.3, 0.8], dtype=np.float64, requires_grad=True)
u_t = (w * inputs).sum(); u_t.retain_grad()
s_t = u_t.sigmoid(); s_t.retain_grad()
d_t = s_t - 1; d_t.retain_grad()
L = d_t ** 2
L.backward()
d_val, s_val = d_t.item(), s_t.item()
steps = [
    ("∂L/∂d = 2d", 2 * d_val, d_t.grad.item()),
    ("∂L/∂s = ∂L/∂d · 1", 2 * d_val, s_t.grad.item()),
    ("∂L/∂u = ∂L/∂s · s(1 − s)", 2 * d_val * s_val * (1 - s_val), u_t.grad.item()),
    ("∂L/∂w1 = ∂L/∂u · x1", 2 * d_val * s_val * (1 - s_val) * 0.5, np.asarray(w.grad)[0]),
]
for what, by_hand, by_bprop in steps:
    print(f"{what:<28} 手算 {by_hand:+.9f}   bprop {by_bprop:+.9f}")
    assert abs(by_hand - by_bprop) < 1e-15
""",
    ),
    md(
        """
## When to stop: the gradient is (nearly) zero

Training repeats forward, backward, step. At a minimum every slope is 0, so the note trains until
the gradients are close to 0. The size of all the slopes together is the norm
‖∇C‖ = √(Σ (∂C/∂θ)²) over every parameter θ. Below, the 2-2-2 network of lesson 1 trains with
gradient descent until ‖∇C‖ < 10⁻³. (`fit(..., grad_tol=1e-3)` stops by the same rule.)
""",
        """
## 何时停下：梯度（几乎）为零

训练就是反复地前向、反向、更新。在最低点处所有斜率都为 0，所以笔记说训练到梯度接近 0 为止。
所有斜率合起来的大小用范数衡量：‖∇C‖ = √(Σ (∂C/∂θ)²)，对所有参数 θ 求和。下面用梯度下降训练
第 1 课的 2-2-2 网络，直到 ‖∇C‖ < 10⁻³。（`fit(..., grad_tol=1e-3)` 用的是同一个停止规则。）
""",
    ),
    code(
        """
from bprop import optim
from bprop.viz import teaching_network

model, x0, y0 = teaching_network()
opt = optim.SGD(model.parameters(), lr=0.5)
xb, yb = bp.tensor(x0[None]), bp.tensor(y0[None])
costs, norms = [], []
for step in range(20000):
    opt.zero_grad()
    C = 0.5 * ((model(xb) - yb) ** 2).sum()
    C.backward()
    norm = np.sqrt(sum(np.sum(np.asarray(p.grad) ** 2) for p in model.parameters()))
    costs.append(C.item()); norms.append(norm)
    if norm < 1e-3:
        break
    opt.step()
print(f"stopped after {len(costs)} steps: C = {costs[-1]:.2e}, ‖∇C‖ = {norms[-1]:.2e}")
fig, ax = plt.subplots(figsize=(6, 3))
ax.semilogy(costs, label="C"); ax.semilogy(norms, label="‖∇C‖"); ax.axhline(1e-3, ls=":", color="0.5")
ax.set_xlabel("step"); ax.legend(); plt.tight_layout(); plt.show()
assert norms[-1] < 1e-3 and costs[-1] < costs[0] / 100
""",
        """
from bprop import optim
from bprop.viz import teaching_network

model, x0, y0 = teaching_network()
opt = optim.SGD(model.parameters(), lr=0.5)
xb, yb = bp.tensor(x0[None]), bp.tensor(y0[None])
costs, norms = [], []
for step in range(20000):
    opt.zero_grad()
    C = 0.5 * ((model(xb) - yb) ** 2).sum()
    C.backward()
    norm = np.sqrt(sum(np.sum(np.asarray(p.grad) ** 2) for p in model.parameters()))
    costs.append(C.item()); norms.append(norm)
    if norm < 1e-3:
        break
    opt.step()
print(f"第 {len(costs)} 步停下：C = {costs[-1]:.2e}，‖∇C‖ = {norms[-1]:.2e}")
fig, ax = plt.subplots(figsize=(6, 3))
ax.semilogy(costs, label="C"); ax.semilogy(norms, label="‖∇C‖"); ax.axhline(1e-3, ls=":", color="0.5")
ax.set_xlabel("step"); ax.legend(); plt.tight_layout(); plt.show()
assert norms[-1] < 1e-3 and costs[-1] < costs[0] / 100
""",
    ),
    md(
        """
## Exercise: the affine layer's backward

A layer out = x @ w + b (x: N×D, w: D×M, b: M). Write `backward(dout, cache)` with
`cache = (x, w, b)`, returning `(dx, dw, db)`. Walk backwards as above: differentiate one entry
out[n, m], then let the shapes tell you which matrix is transposed; w and b are shared by all N
samples, so their gradients sum over the batch.
""",
        """
## 练习：仿射层的反向传播

一层 out = x @ w + b（x：N×D，w：D×M，b：M）。写出 `backward(dout, cache)`，其中
`cache = (x, w, b)`，返回 `(dx, dw, db)`。像上面那样倒着走：先对单个元素 out[n, m] 求导，再让形状
告诉你哪个矩阵要转置；w 和 b 被 N 个样本共用，所以它们的梯度要对整批求和。
""",
    ),
    code(
        """
from bprop.exercise import check_backward

def backward(dout, cache):
    x, w, b = cache
    raise NotImplementedError("your code: dx, dw, db")
    return dx, dw, db

check_backward("affine", backward)
""",
        """
from bprop.exercise import check_backward

def backward(dout, cache):
    x, w, b = cache
    raise NotImplementedError("在这里写：dx, dw, db")
    return dx, dw, db

check_backward("affine", backward)
""",
    ),
    md(
        """
A solution, to compare with yours once you have tried:
""",
        """
参考答案（先自己做，再对照）：
""",
    ),
    code(
        """
def backward(dout, cache):
    x, w, b = cache
    dx = dout @ w.T
    dw = x.T @ dout
    db = dout.sum(axis=0)
    return dx, dw, db

report = check_backward("affine", backward)
assert report.ok
report
"""
    ),
]

# ===================================================================================== lesson 04
L04 = [
    md(
        """
# Lesson 4 · The cs231n fully connected net: batch norm and dropout

The fourth note follows cs231n's assignment 2: a net of L layers,
{affine − [batch norm] − ReLU − [dropout]} × (L − 1) − affine − softmax, trained by per-layer
gradient descent. `bprop.cs231n` is the assignment's own API on top of bprop's hand-derived ops,
so the course's code runs as written. This lesson opens up the two new layers — batch norm and
dropout — then trains such a net on real digits and watches δ layer by layer.
""",
        """
# 第 4 课 · cs231n 的全连接网络：批归一化与 dropout

第四篇笔记跟着 cs231n 的作业 2：一个 L 层的网络，{affine − [batch norm] − ReLU − [dropout]} × (L − 1)
− affine − softmax，用逐层梯度下降来训练。`bprop.cs231n` 就是作业本身的 API，底下是 bprop 手推的
算子，课程的代码可以原样运行。这一课先拆开两个新层——批归一化和 dropout——再在真实的手写数字上
训练这样的网络，逐层观察 δ。
""",
    ),
    code(
        FIND_DATA
        + """
import numpy as np
import bprop as bp
from bprop.cs231n.layers import batchnorm_forward, batchnorm_backward, dropout_forward, dropout_backward
from bprop.cs231n.layer_utils import affine_bn_relu_forward, affine_norm_relu_backward
from bprop.cs231n.gradient_check import eval_numerical_gradient_array, rel_error

np.random.seed(231)
"""
    ),
    md(
        """
## Batch norm, forward

For each feature (column) of a batch x (N×D): the batch mean μ, the variance σ², the normalised
x̂ = (x − μ)/√(σ² + ε), then a learnt scale and shift y = γ·x̂ + β. Every column comes out with
mean β and standard deviation γ, whatever the layer below did.
""",
        """
## 批归一化：前向

对一批数据 x（N×D）的每个特征（每一列）：求这批的均值 μ、方差 σ²，归一化
x̂ = (x − μ)/√(σ² + ε)，再做可学习的缩放和平移 y = γ·x̂ + β。不管下面一层输出什么，每一列出来的
均值都是 β，标准差都是 γ。
""",
    ),
    code(
        """
N, D = 6, 4
x = 5 * np.random.randn(N, D) + 12
gamma, beta = np.array([1.0, 2.0, 3.0, 4.0]), np.array([0.0, -1.0, 1.0, 2.0])
out, cache = batchnorm_forward(x, gamma, beta, {"mode": "train"})
print("means:", out.mean(axis=0).round(6), " stds:", out.std(axis=0).round(4))
np.testing.assert_allclose(out.mean(axis=0), beta, atol=1e-9)
np.testing.assert_allclose(out.std(axis=0), gamma, rtol=1e-4)
""",
        """
N, D = 6, 4
x = 5 * np.random.randn(N, D) + 12
gamma, beta = np.array([1.0, 2.0, 3.0, 4.0]), np.array([0.0, -1.0, 1.0, 2.0])
out, cache = batchnorm_forward(x, gamma, beta, {"mode": "train"})
print("均值：", out.mean(axis=0).round(6), " 标准差：", out.std(axis=0).round(4))
np.testing.assert_allclose(out.mean(axis=0), beta, atol=1e-9)
np.testing.assert_allclose(out.std(axis=0), gamma, rtol=1e-4)
""",
    ),
    md(
        """
## Batch norm, backward

With g = ∂C/∂y arriving from above:

* **∂C/∂β = Σ_n g** and **∂C/∂γ = Σ_n g ⊙ x̂** — two separate gradients (the note's "dγ/dβ" is a
  slip: there is no derivative of γ with respect to β);
* for x, every sample moves μ and σ², so each x[n] reaches the cost three ways — directly through
  x̂[n], through μ and through σ². Collecting the three paths, with s = √(σ² + ε) and ĝ = γ ⊙ g:

  **∂C/∂x = (ĝ − mean(ĝ) − x̂ ⊙ mean(ĝ ⊙ x̂)) / s**  (means over the batch).

The closed form is checked against the course's `batchnorm_backward` and numerical gradients:
""",
        """
## 批归一化：反向

设上面传下来的是 g = ∂C/∂y：

* **∂C/∂β = Σ_n g**，**∂C/∂γ = Σ_n g ⊙ x̂**——这是两个各自独立的梯度（笔记里写的"dγ/dβ"是笔误：
  并不存在 γ 对 β 的导数）；
* 对 x：每个样本都会改变 μ 和 σ²，所以每个 x[n] 通过三条路影响代价——直接经过 x̂[n]、经过 μ、经过
  σ²。把三条路汇总，记 s = √(σ² + ε)、ĝ = γ ⊙ g：

  **∂C/∂x = (ĝ − mean(ĝ) − x̂ ⊙ mean(ĝ ⊙ x̂)) / s**（均值都对整批求）。

下面把这个闭式解与课程的 `batchnorm_backward`、与数值梯度相互核对：
""",
    ),
    code(
        """
g = np.random.randn(N, D)
mu, var = x.mean(axis=0), x.var(axis=0)
s = np.sqrt(var + 1e-5)
x_hat = (x - mu) / s
g_hat = gamma * g
dx_closed = (g_hat - g_hat.mean(axis=0) - x_hat * (g_hat * x_hat).mean(axis=0)) / s
dgamma_closed, dbeta_closed = (g * x_hat).sum(axis=0), g.sum(axis=0)

dx, dgamma, dbeta = batchnorm_backward(g, cache)
f = lambda x_: batchnorm_forward(x_, gamma, beta, {"mode": "train"})[0]
dx_num = eval_numerical_gradient_array(f, x.copy(), g)
print(f"rel. error dx: vs the course {rel_error(dx_closed, dx):.1e}, vs numerical {rel_error(dx_closed, dx_num):.1e}")
print(f"rel. error dγ {rel_error(dgamma_closed, dgamma):.1e}, dβ {rel_error(dbeta_closed, dbeta):.1e}")
assert rel_error(dx_closed, dx) < 1e-8 and rel_error(dx_closed, dx_num) < 1e-6
assert rel_error(dgamma_closed, dgamma) < 1e-10 and rel_error(dbeta_closed, dbeta) < 1e-10
""",
        """
g = np.random.randn(N, D)
mu, var = x.mean(axis=0), x.var(axis=0)
s = np.sqrt(var + 1e-5)
x_hat = (x - mu) / s
g_hat = gamma * g
dx_closed = (g_hat - g_hat.mean(axis=0) - x_hat * (g_hat * x_hat).mean(axis=0)) / s
dgamma_closed, dbeta_closed = (g * x_hat).sum(axis=0), g.sum(axis=0)

dx, dgamma, dbeta = batchnorm_backward(g, cache)
f = lambda x_: batchnorm_forward(x_, gamma, beta, {"mode": "train"})[0]
dx_num = eval_numerical_gradient_array(f, x.copy(), g)
print(f"dx 的相对误差：与课程实现 {rel_error(dx_closed, dx):.1e}，与数值梯度 {rel_error(dx_closed, dx_num):.1e}")
print(f"dγ 的相对误差 {rel_error(dgamma_closed, dgamma):.1e}，dβ 的相对误差 {rel_error(dbeta_closed, dbeta):.1e}")
assert rel_error(dx_closed, dx) < 1e-8 and rel_error(dx_closed, dx_num) < 1e-6
assert rel_error(dgamma_closed, dgamma) < 1e-10 and rel_error(dbeta_closed, dbeta) < 1e-10
""",
    ),
    md(
        """
## Dropout, forward and backward

In training, dropout keeps each unit with probability p (cs231n's p is the *keep* probability;
torch's is the drop probability) and divides the survivors by p, so that the expected output
equals the input and nothing changes at test time ("inverted dropout"): out = x ⊙ mask with
mask = [u < p]/p. It is a multiplication by a constant, so its backward is
**∂C/∂x = ∂C/∂out ⊙ mask**: the dropped units pass no gradient.
""",
        """
## Dropout：前向与反向

训练时，dropout 以概率 p 保留每个单元（cs231n 的 p 是*保留*概率，torch 的是丢弃概率），并把留下的
除以 p，使输出的期望等于输入，测试时就什么都不用改（"inverted dropout"）：out = x ⊙ mask，
mask = [u < p]/p。这只是乘上一个常数，所以反向就是 **∂C/∂x = ∂C/∂out ⊙ mask**：被丢掉的单元不传梯度。
""",
    ),
    code(
        """
xd = np.random.randn(500, 500) + 10
param = {"mode": "train", "p": 0.3, "seed": 0}
out, dcache = dropout_forward(xd, param)
print(f"kept {np.mean(out != 0):.3f} of the units; mean in {xd.mean():.3f}, mean out {out.mean():.3f}")
gd = np.random.randn(*xd.shape)
dxd = dropout_backward(gd, dcache)
np.testing.assert_array_equal(dxd, gd * (out != 0) / 0.3)
assert abs(np.mean(out != 0) - 0.3) < 0.01 and abs(out.mean() - xd.mean()) < 0.1
""",
        """
xd = np.random.randn(500, 500) + 10
param = {"mode": "train", "p": 0.3, "seed": 0}
out, dcache = dropout_forward(xd, param)
print(f"保留了 {np.mean(out != 0):.3f} 的单元；输入均值 {xd.mean():.3f}，输出均值 {out.mean():.3f}")
gd = np.random.randn(*xd.shape)
dxd = dropout_backward(gd, dcache)
np.testing.assert_array_equal(dxd, gd * (out != 0) / 0.3)
assert abs(np.mean(out != 0) - 0.3) < 0.01 and abs(out.mean() - xd.mean()) < 0.1
""",
    ),
    md(
        """
## A whole block, and the whole net

The course's `affine_bn_relu_forward` chains affine, batch norm and ReLU; its backward runs the
three backwards in reverse order. The full `FullyConnectedNet` adds dropout, the last affine layer,
softmax and L2 regularisation ½·λ·ΣW² (with the square; the note leaves it out), whose gradient
is λW. Two sanity checks from the course: at initialisation the loss is about ln 10 ≈ 2.30 (ten
equally likely classes), and every gradient agrees with numerical differentiation. (Look at b1 and
b2: their gradients are 0. Batch norm subtracts the batch mean, so a bias added just before it
changes nothing.)
""",
        """
## 一个完整的块，和整个网络

课程的 `affine_bn_relu_forward` 把 affine、批归一化、ReLU 串起来；它的反向就是按相反顺序依次执行
三个反向。完整的 `FullyConnectedNet` 再加上 dropout、最后一个 affine 层、softmax 和 L2 正则
½·λ·ΣW²（要带平方，笔记里漏了），其梯度为 λW。课程里的两个检查：初始化时损失约为
ln 10 ≈ 2.30（十个类别等可能），以及每个梯度都与数值微分一致。（留意 b1 和 b2：它们的梯度是 0。
批归一化会减去这批的均值，紧挨在它前面加的偏置因此不起任何作用。）
""",
    ),
    code(
        """
from bprop.cs231n.classifiers.fc_net import FullyConnectedNet
from bprop.cs231n.gradient_check import eval_numerical_gradient

xb, wb, bb = np.random.randn(4, 5), np.random.randn(5, 3), np.random.randn(3)
gb, bb_beta = np.random.randn(3), np.random.randn(3)
outb, cb = affine_bn_relu_forward(xb, wb, bb, gb, bb_beta, {"mode": "train"})
doutb = np.random.randn(*outb.shape)
dxb = affine_norm_relu_backward(doutb, cb)[0]
block = lambda x_: affine_bn_relu_forward(x_, wb, bb, gb, bb_beta, {"mode": "train"})[0]
num = eval_numerical_gradient_array(block, xb.copy(), doutb)
print(f"affine-BN-ReLU dx rel. error {rel_error(dxb, num):.1e}")

np.random.seed(231)                            # the course notebook's seed
X, y = np.random.randn(8, 15), np.random.randint(10, size=8)
model = FullyConnectedNet([20, 30], input_dim=15, num_classes=10, normalization="batchnorm",
                          dropout_keep_ratio=0.75, reg=0.1, weight_scale=5e-2, dtype=np.float64, seed=0)
loss, grads = model.loss(X, y)
numeric = {name: eval_numerical_gradient(lambda _: model.loss(X, y)[0], model.params[name], verbose=False)
           for name in sorted(grads)}
errors = {name: rel_error(numeric[name], grads[name]) for name in numeric}
print(f"initial loss {loss:.3f} (ln 10 = {np.log(10):.3f} plus the L2 term)")
for name, err in errors.items():
    print(f"{name:>6}  rel. error {err:.1e}   largest |gradient| {np.abs(grads[name]).max():.1e}")
assert rel_error(dxb, num) < 1e-6 and max(errors.values()) < 1e-4
""",
        """
from bprop.cs231n.classifiers.fc_net import FullyConnectedNet
from bprop.cs231n.gradient_check import eval_numerical_gradient

xb, wb, bb = np.random.randn(4, 5), np.random.randn(5, 3), np.random.randn(3)
gb, bb_beta = np.random.randn(3), np.random.randn(3)
outb, cb = affine_bn_relu_forward(xb, wb, bb, gb, bb_beta, {"mode": "train"})
doutb = np.random.randn(*outb.shape)
dxb = affine_norm_relu_backward(doutb, cb)[0]
block = lambda x_: affine_bn_relu_forward(x_, wb, bb, gb, bb_beta, {"mode": "train"})[0]
num = eval_numerical_gradient_array(block, xb.copy(), doutb)
print(f"affine-BN-ReLU 的 dx 相对误差 {rel_error(dxb, num):.1e}")

np.random.seed(231)                            # the course notebook's seed
X, y = np.random.randn(8, 15), np.random.randint(10, size=8)
model = FullyConnectedNet([20, 30], input_dim=15, num_classes=10, normalization="batchnorm",
                          dropout_keep_ratio=0.75, reg=0.1, weight_scale=5e-2, dtype=np.float64, seed=0)
loss, grads = model.loss(X, y)
numeric = {name: eval_numerical_gradient(lambda _: model.loss(X, y)[0], model.params[name], verbose=False)
           for name in sorted(grads)}
errors = {name: rel_error(numeric[name], grads[name]) for name in numeric}
print(f"初始损失 {loss:.3f}（ln 10 = {np.log(10):.3f}，再加上 L2 项）")
for name, err in errors.items():
    print(f"{name:>6}  相对误差 {err:.1e}   梯度绝对值最大 {np.abs(grads[name]).max():.1e}")
assert rel_error(dxb, num) < 1e-6 and max(errors.values()) < 1e-4
""",
    ),
    md(
        """
## Training on real digits, watching δ layer by layer

Now a real run: the same architecture as bprop modules (`nn.models.FullyConnectedNet`,
784-100-100-100-10 with batch norm and dropout), trained with `fit` on 6 000 MNIST images for two epochs.
A `DeltaRecorder` records δ = ∂C/∂(output) of every affine layer at every step — the notes' δ^l —
and says whether the gradients vanish or explode on their way back, and whether ReLUs died. The
data comes from a `shared/data` folder beside the repository; without it the cell says so and the
rest of the lesson skips the run.
""",
        """
## 在真实的手写数字上训练，逐层观察 δ

现在来一次真正的训练：同样的结构用 bprop 的模块搭（`nn.models.FullyConnectedNet`，784-100-100-100-10，
带批归一化和 dropout），用 `fit` 在 6 000 张 MNIST 图像上训练两轮。`DeltaRecorder` 在每一步记下每个
affine 层的 δ = ∂C/∂(输出)——也就是笔记里的 δ^l——并判断梯度在往回传的路上是否消失或爆炸、
有没有"死掉"的 ReLU。数据取自仓库旁边的 `shared/data` 文件夹；没有它时，单元格会说明，后面的训练就跳过。
""",
    ),
    code(
        """
from bprop import nn, optim
from bprop.data.datasets import MNIST
from bprop.train import fit

data_dir = find_data("mnist")
if data_dir is None:
    print("MNIST is not here (no shared/data/mnist beside the repository): the training run is skipped")
    history = recorder = None
else:
    train_set, test_set = MNIST(data_dir), MNIST(data_dir, train=False)
    def flat(ds, n):
        images, labels = ds.tensors
        pixels = np.asarray(images[:n], dtype=np.float32).reshape(n, -1) / 255
        return (pixels - 0.13) / 0.31, np.asarray(labels[:n])          # about mean 0, std 1
    bp.manual_seed(0)
    net = nn.models.FullyConnectedNet(784, [100, 100, 100], 10, normalization="batchnorm", dropout=0.1)
    recorder = bp.viz.DeltaRecorder()
    history = fit(net, flat(train_set, 6000), flat(test_set, 1000), epochs=2, batch_size=100,
                  optimizer=optim.Adam(net.parameters(), lr=1e-3), callbacks=[recorder])
history
""",
        """
from bprop import nn, optim
from bprop.data.datasets import MNIST
from bprop.train import fit

data_dir = find_data("mnist")
if data_dir is None:
    print("这里没有 MNIST（仓库旁边没有 shared/data/mnist）：跳过训练")
    history = recorder = None
else:
    train_set, test_set = MNIST(data_dir), MNIST(data_dir, train=False)
    def flat(ds, n):
        images, labels = ds.tensors
        pixels = np.asarray(images[:n], dtype=np.float32).reshape(n, -1) / 255
        return (pixels - 0.13) / 0.31, np.asarray(labels[:n])          # 约为均值 0、标准差 1
    bp.manual_seed(0)
    net = nn.models.FullyConnectedNet(784, [100, 100, 100], 10, normalization="batchnorm", dropout=0.1)
    recorder = bp.viz.DeltaRecorder()
    history = fit(net, flat(train_set, 6000), flat(test_set, 1000), epochs=2, batch_size=100,
                  optimizer=optim.Adam(net.parameters(), lr=1e-3), callbacks=[recorder])
history
""",
    ),
    md(
        """
The δ per layer: the mean ‖δ‖ of each affine layer, from the input to the output, and ‖δ‖ at
every step. With batch norm the gradients reach the first layer at a healthy size; the verdicts say
so in words.
""",
        """
每一层的 δ：各 affine 层（从输入到输出）的 ‖δ‖ 平均值，以及每一步的 ‖δ‖。有了批归一化，梯度传到
第一层时大小依然正常；判断结论用文字写在上面。
""",
    ),
    code(
        """
if recorder is not None:
    assert history.last["val_accuracy"] > 0.85, history.last
    assert any(v.startswith("gradients flow") for v in recorder.verdicts()), recorder.verdicts()
recorder
"""
    ),
    md(
        """
## Exercise: batch norm's backward

Write `backward(dout, cache)` for batch norm in training mode, with `cache = (x_hat, std, gamma)`
(std = √(σ² + ε)); return `(dx, dgamma, dbeta)`. The three paths from x to the cost are the whole
difficulty; the report says which term is missing if you forget one.
""",
        """
## 练习：批归一化的反向传播

为训练模式下的批归一化写出 `backward(dout, cache)`，其中 `cache = (x_hat, std, gamma)`
（std = √(σ² + ε)），返回 `(dx, dgamma, dbeta)`。难点全在 x 通往代价的三条路；漏掉哪一项，报告会
告诉你。
""",
    ),
    code(
        """
from bprop.exercise import check_backward

def backward(dout, cache):
    x_hat, std, gamma = cache
    raise NotImplementedError("your code: dx, dgamma, dbeta")
    return dx, dgamma, dbeta

check_backward("batchnorm", backward)
""",
        """
from bprop.exercise import check_backward

def backward(dout, cache):
    x_hat, std, gamma = cache
    raise NotImplementedError("在这里写：dx, dgamma, dbeta")
    return dx, dgamma, dbeta

check_backward("batchnorm", backward)
""",
    ),
    md(
        """
A solution, to compare with yours once you have tried:
""",
        """
参考答案（先自己做，再对照）：
""",
    ),
    code(
        """
def backward(dout, cache):
    x_hat, std, gamma = cache
    dbeta = dout.sum(axis=0)
    dgamma = (dout * x_hat).sum(axis=0)
    g_hat = dout * gamma
    dx = (g_hat - g_hat.mean(axis=0) - x_hat * (g_hat * x_hat).mean(axis=0)) / std
    return dx, dgamma, dbeta

report = check_backward("batchnorm", backward)
assert report.ok
report
"""
    ),
]

LESSONS = {
    "01-dnn-delta-recursion": L01,
    "02-cnn-backward": L02,
    "03-intuition": L03,
    "04-cs231n-fc-net": L04,
}


def notebook(cells: list[tuple[str, str, str]], lang: str, stem: str) -> dict:
    column = LANGS.index(lang) + 1
    return {
        "cells": [
            {
                "cell_type": kind,
                "id": f"{stem[:2]}-{i:02d}",
                "metadata": {},
                "source": texts[column - 1].splitlines(keepends=True),
                **({"execution_count": None, "outputs": []} if kind == "code" else {}),
            }
            for i, (kind, *texts) in enumerate(cells)
        ],
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def written() -> dict[Path, str]:
    """Every notebook's path and its text, as this file writes them."""
    return {
        HERE / lang / f"{stem}.ipynb": json.dumps(notebook(cells, lang, stem), ensure_ascii=False, indent=1) + "\n"
        for stem, cells in LESSONS.items()
        for lang in LANGS
    }


def main(argv: list[str]) -> int:
    stale = [path for path, text in written().items() if not path.is_file() or path.read_text("utf-8") != text]
    if "--check" in argv:
        for path in stale:
            print(f"{path.relative_to(HERE.parent)} differs from what lessons/build.py writes")
        return 1 if stale else 0
    for path, text in written().items():
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    print(f"wrote {len(written())} notebooks")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
