"""Texts of the viewer page: its words, and each op's backward formula written for display."""

# the backward of each op as the page shows it, δ = ∂C/∂(output), one line per input it feeds;
# the catalogue keys are "formula.<op>" (English, Chinese): only the words differ
FORMULAS: dict[str, tuple[str, str]] = {
    "Linear": (
        "y = x Wᵀ + b\n∂C/∂x = δ W\n∂C/∂W = δᵀ x   (Σ over the batch)\n∂C/∂b = Σ_r δ_r",
        "y = x Wᵀ + b\n∂C/∂x = δ W\n∂C/∂W = δᵀ x（对这一批样本求和）\n∂C/∂b = Σ_r δ_r",
    ),
    "MatMul": ("y = A B\n∂C/∂A = δ Bᵀ\n∂C/∂B = Aᵀ δ",) * 2,
    "Add": (
        "y = a + b\n∂C/∂a = δ,  ∂C/∂b = δ   (summed over broadcast axes)",
        "y = a + b\n∂C/∂a = δ，∂C/∂b = δ（对广播出来的轴求和）",
    ),
    "Sub": (
        "y = a − b\n∂C/∂a = δ,  ∂C/∂b = −δ   (summed over broadcast axes)",
        "y = a − b\n∂C/∂a = δ，∂C/∂b = −δ（对广播出来的轴求和）",
    ),
    "Mul": ("y = a ⊙ b\n∂C/∂a = δ ⊙ b,  ∂C/∂b = δ ⊙ a", "y = a ⊙ b\n∂C/∂a = δ ⊙ b，∂C/∂b = δ ⊙ a"),
    "Div": ("y = a / b\n∂C/∂a = δ / b,  ∂C/∂b = −δ ⊙ a / b²", "y = a / b\n∂C/∂a = δ / b，∂C/∂b = −δ ⊙ a / b²"),
    "Neg": ("y = −x\n∂C/∂x = −δ",) * 2,
    "Exp": ("y = eˣ\n∂C/∂x = δ ⊙ y",) * 2,
    "Log": ("y = ln x\n∂C/∂x = δ / x",) * 2,
    "Sqrt": ("y = √x\n∂C/∂x = δ / (2y)",) * 2,
    "PowScalar": ("y = xᵖ\n∂C/∂x = δ ⊙ p·xᵖ⁻¹",) * 2,
    "Abs": ("y = |x|\n∂C/∂x = δ ⊙ sign(x)   (0 at x = 0)", "y = |x|\n∂C/∂x = δ ⊙ sign(x)（在 x = 0 处取 0）"),
    "Sigmoid": ("a = σ(z)\n∂C/∂z = δ ⊙ a(1 − a)",) * 2,
    "Tanh": ("a = tanh z\n∂C/∂z = δ ⊙ (1 − a²)",) * 2,
    "ReLU": (
        "a = max(z, 0)\n∂C/∂z = δ ⊙ [z > 0]   (0 at the kink z = 0)",
        "a = max(z, 0)\n∂C/∂z = δ ⊙ [z > 0]（在折点 z = 0 处取 0）",
    ),
    "LeakyReLU": (
        "a = z if z > 0 else s·z\n∂C/∂z = δ ⊙ (1 if z > 0 else s)",
        "a：z > 0 时为 z，否则为 s·z\n∂C/∂z = δ ⊙ σ′(z)，σ′(z)：z > 0 时为 1，否则为 s",
    ),
    "GELU": ("a = z·Φ(z)\n∂C/∂z = δ ⊙ (Φ(z) + z·φ(z))",) * 2,
    "Softmax": ("p = softmax(z)\n∂C/∂z = p ⊙ (δ − Σ_k δ_k p_k)",) * 2,
    "LogSoftmax": ("y = log softmax(z)\n∂C/∂z = δ − softmax(z)·Σ_k δ_k",) * 2,
    "CrossEntropy": ("C = −(1/N) Σ_r log softmax(z_r)[y_r]\n∂C/∂z = δ·(softmax(z) − onehot(y))/N",) * 2,
    "NLLLoss": ("C = −(1/N) Σ_r x_r[y_r]\n∂C/∂x = −δ·onehot(y)/N",) * 2,
    "MSE": (
        "C = mean (x − t)²\n∂C/∂x = δ·2(x − t)/(number of entries)",
        "C = mean (x − t)²\n∂C/∂x = δ·2(x − t)/n，n 是元素个数",
    ),
    "BCEWithLogits": (
        "C = mean(softplus(z) − t·z)\n∂C/∂z = δ·(σ(z) − t)/(number of entries)",
        "C = mean(softplus(z) − t·z)\n∂C/∂z = δ·(σ(z) − t)/n，n 是元素个数",
    ),
    "Dropout": ("y = x ⊙ D/(1 − p)\n∂C/∂x = δ ⊙ D/(1 − p)",) * 2,
    "BatchNormTrain": (
        "x̂ = (x − μ)/√(σ² + ε),  y = γ x̂ + β   (μ, σ² over the batch)\n∂C/∂β = Σ δ\n∂C/∂γ = Σ δ ⊙ x̂\n"
        "∂C/∂x = (γ/(m√(σ² + ε)))·(m·δ − Σ δ − x̂·Σ δ ⊙ x̂)",
        "x̂ = (x − μ)/√(σ² + ε)，y = γ x̂ + β（μ、σ² 对这一批样本计算）\n∂C/∂β = Σ δ\n∂C/∂γ = Σ δ ⊙ x̂\n"
        "∂C/∂x = (γ/(m√(σ² + ε)))·(m·δ − Σ δ − x̂·Σ δ ⊙ x̂)",
    ),
    "BatchNormEval": (
        "y = γ (x − μ_run)/√(σ²_run + ε) + β\n∂C/∂x = γ δ/√(σ²_run + ε)\n∂C/∂γ = Σ δ ⊙ x̂,  ∂C/∂β = Σ δ",
        "y = γ (x − μ_run)/√(σ²_run + ε) + β\n∂C/∂x = γ δ/√(σ²_run + ε)\n∂C/∂γ = Σ δ ⊙ x̂，∂C/∂β = Σ δ",
    ),
    "LayerNorm": (
        "x̂ = (x − μ)/√(σ² + ε),  y = γ x̂ + β   (μ, σ² over each sample's features)\n∂C/∂β = Σ_r δ,  "
        "∂C/∂γ = Σ_r δ ⊙ x̂\n∂C/∂x = (1/√(σ² + ε))·(γδ − mean(γδ) − x̂·mean(γδ ⊙ x̂))",
        "x̂ = (x − μ)/√(σ² + ε)，y = γ x̂ + β（μ、σ² 对每个样本的特征计算）\n∂C/∂β = Σ_r δ，"
        "∂C/∂γ = Σ_r δ ⊙ x̂\n∂C/∂x = (1/√(σ² + ε))·(γδ − mean(γδ) − x̂·mean(γδ ⊙ x̂))",
    ),
    "Conv2d": (
        "z[o] = bias[o] + Σ_c x̃[c] ⋆ k[o, c]   (⋆ cross-correlation)\n∂C/∂k[o, c] = Σ_r x̃[r, c] ⋆ δ[r, o]\n"
        "∂C/∂bias[o] = Σ_r Σ_pq δ[r, o, p, q]\n∂C/∂x[c] = crop(Σ_o dilate(δ[o]) ∗ k[o, c])   (full convolution)",
        "z[o] = bias[o] + Σ_c x̃[c] ⋆ k[o, c]（⋆ 表示互相关）\n∂C/∂k[o, c] = Σ_r x̃[r, c] ⋆ δ[r, o]\n"
        "∂C/∂bias[o] = Σ_r Σ_pq δ[r, o, p, q]\n∂C/∂x[c] = crop(Σ_o dilate(δ[o]) ∗ k[o, c])（完整卷积）",
    ),
    "MaxPool2d": (
        "y = max over each window\n∂C/∂x = δ routed to each window's first maximum, 0 elsewhere",
        "y：每个窗口内的最大值\n∂C/∂x：δ 流向每个窗口的第一个最大值，其余位置为 0",
    ),
    "AvgPool2d": (
        "y = mean over each window\n∂C/∂x = each window spreads δ/(k₁·k₂) over its pixels",
        "y：每个窗口内的平均值\n∂C/∂x：每个窗口把 δ/(k₁·k₂) 平均分给它的每个像素",
    ),
    "Sum": ("y = Σ x\n∂C/∂x = δ, copied to every summed entry", "y = Σ x\n∂C/∂x = δ，复制到每个被求和的元素"),
    "Mean": (
        "y = mean x\n∂C/∂x = δ / (number of entries averaged)",
        "y = mean x\n∂C/∂x = δ / n，n 是参与平均的元素个数",
    ),
    "Reshape": ("y = x reshaped\n∂C/∂x = δ reshaped back", "y：把 x 变形\n∂C/∂x：把 δ 变形回原来的形状"),
    "Permute": (
        "y = x with its axes permuted\n∂C/∂x = δ with the inverse permutation",
        "y：把 x 的轴重新排列\n∂C/∂x：把 δ 的轴按逆排列换回来",
    ),
    "GetItem": (
        "y = x[index]\n∂C/∂x = δ put back at index, 0 elsewhere",
        "y = x[index]\n∂C/∂x：把 δ 放回 index 处，其余位置为 0",
    ),
}

TEXTS: dict[str, tuple[str, str]] = {
    "viewer.title": ("bprop: backprop through {count} ops", "bprop：逐步查看 {count} 个运算的反向传播"),
    "viewer.back": ("◀ back", "◀ 上一步"),
    "viewer.step": ("step ▶", "下一步 ▶"),
    "viewer.reset": ("reset", "重来"),
    "viewer.node": ("node", "节点"),
    "viewer.value": ("value", "值"),
    "viewer.delta": ("δ = ∂C/∂(this tensor)", "δ = ∂C/∂（这个张量）"),
    "viewer.inputs": ("inputs", "输入"),
    "viewer.formula": ("the op and its backward formula", "运算及其反向传播公式"),
    "viewer.check": ("finite-difference check of this op alone", "只对这个运算做的有限差分检验"),
    "viewer.start": ("Start: {steps} steps, loss C = {loss}", "开始：共 {steps} 步，损失 C = {loss}"),
    "viewer.start_words": (
        "Press step ▶ to run the forward pass op by op, then backprop δ one node at a time.",
        "按“下一步 ▶”逐个运算地做前向传播，然后一个节点一个节点地反向传播 δ。",
    ),
    "viewer.step_title": ("Step {k} of {n}: {phase}, {label}", "第 {k} 步，共 {n} 步：{phase}，{label}"),
    "viewer.forward": ("forward", "前向"),
    "viewer.backward": ("backward", "反向"),
    "viewer.forward_words": (
        "Forward: {label} computes its output from the green inputs.",
        "前向：{label} 由绿色标出的输入算出它的输出。",
    ),
    "viewer.param_words": (
        "δ has arrived at the parameter {label}: this is its .grad.",
        "δ 已到达参数 {label}：这就是它的 .grad。",
    ),
    "viewer.backward_words": (
        "Backward: δ at the output of {label} flows by its backward formula to the red inputs; each input's "
        "share is listed under inputs.",
        "反向：{label} 输出处的 δ 按它的反向公式流向红色标出的输入；每个输入得到的数值列在“输入”下面。",
    ),
    "viewer.not_yet": ("δ has not reached this node yet", "δ 还没有传到这个节点"),
    "viewer.no_grad": ("no gradient flows here", "这里没有梯度流过"),
    "viewer.receives": ("receives", "得到"),
    "viewer.total": ("(its total δ, over every op that uses it)", "（它的总 δ，来自使用它的每个运算）"),
    "viewer.param": (
        "a parameter: its δ is the gradient .grad that the optimizer uses",
        "参数：它的 δ 就是优化器使用的梯度 .grad",
    ),
    "viewer.input": ("an input: no gradient is needed", "输入：不需要梯度"),
    "viewer.too_large": ("inputs too large for the check", "输入太大，不做这项检验"),
    "viewer.gamma": ("γ, the scale of {op}", "γ，{op} 的缩放参数"),
    "viewer.beta": ("β, the shift of {op}", "β，{op} 的平移参数"),
    "viewer.labels": ("the labels y = {labels}", "标签 y = {labels}"),
    "viewer.bias_before_bn": (
        "This bias is added right before batch norm, which subtracts each feature's batch mean: a constant "
        "added to a whole column is removed again, so the loss does not depend on it and its gradient is 0.",
        "这个偏置紧接着进入批归一化，而批归一化会减去每个特征在这一批上的均值：加在整列上的常数又被减掉了，"
        "所以损失与它无关，它的梯度为 0。",
    ),
    "viewer.agrees": (
        "backward agrees with finite differences: max rel. error {error}{kinks}",
        "反向传播与有限差分一致：最大相对误差 {error}{kinks}",
    ),
    "viewer.disagrees": (
        "backward DISAGREES with finite differences: max rel. error {error}{kinks}",
        "反向传播与有限差分不一致：最大相对误差 {error}{kinks}",
    ),
    "viewer.kinks": (", {count} entries on a kink not compared", "，{count} 个位于折点的元素未比较"),
    "viewer.no_formula": (
        "{op}: no backward formula written for display yet",
        "{op}：还没有写出供显示的反向传播公式",
    ),
    "viewer.node_label": ("{label}  ({kind}, node {id})", "{label}（{kind}，节点 {id}）"),
    "viewer.kind_op": ("op", "运算"),
    "viewer.kind_param": ("param", "参数"),
    "viewer.kind_input": ("input", "输入"),
    "viewer.scalar": ("scalar", "标量"),
    "viewer.stats": (
        "‖·‖ = {norm}  mean {mean}  min {min}  max {max}",
        "‖·‖ = {norm}，均值 {mean}，最小值 {min}，最大值 {max}",
    ),
}

TEXTS.update({f"formula.{op}": texts for op, texts in FORMULAS.items()})
