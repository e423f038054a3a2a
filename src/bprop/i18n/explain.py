"""Texts of explain: the notes' notation, the output error, the recursion and the bridge."""

TEXTS: dict[str, tuple[str, str]] = {
    "explain.title": ("Backpropagation, every number", "反向传播：每一个数"),
    "explain.notation": ("Notation: the notes ↔ this page ↔ torch", "记号：笔记 ↔ 本页 ↔ torch"),
    "explain.notation.head": ("notes|here|torch|meaning", "笔记|本页|torch|含义"),
    "explain.notation.layer": ("layer l = 1…L", "第 l 层，l = 1…L"),
    "explain.notation.z": ("weighted input of layer l", "第 l 层的加权输入"),
    "explain.notation.a": ("output (activation) of layer l", "第 l 层的输出（激活值）"),
    "explain.notation.w": (
        "weight from neuron j of l−1 to neuron i of l",
        "从第 l−1 层第 j 个神经元到第 l 层第 i 个神经元的权重",
    ),
    "explain.notation.delta": ("the error of layer l: how C changes with zˡ", "第 l 层的误差：C 随 zˡ 的变化率"),
    "explain.notation.grad": ("the gradient of a weight", "权重的梯度"),
    "explain.notation.batch": (
        "a batch: one row per sample r = n, C the mean over them",
        "一批样本：每个样本占一行（笔记里的 r 即这里的 n），C 是它们的平均",
    ),
    "explain.rows": (
        "Vectors print as rows, one per sample; the notes' column vectors are these rows transposed.",
        "向量按行打印，每个样本一行；笔记里的列向量就是这些行的转置。",
    ),
    "explain.output_error": ("Output error δᴸ = ∂C/∂zᴸ (note 000)", "输出层误差 δᴸ = ∂C/∂zᴸ（笔记 000）"),
    "explain.softmax_last": (
        "The last layer's activation is the softmax, fused with the cross-entropy: δᴸ = (softmax(zᴸ) − y)/N.",
        "最后一层的激活函数是 softmax，与交叉熵合在一起求导：δᴸ = (softmax(zᴸ) − y)/N。",
    ),
    "explain.recursion": (
        "The recursion δˡ = σ′(zˡ) ⊙ (Wˡ⁺¹)ᵀ δˡ⁺¹, evaluated",
        "递推式 δˡ = σ′(zˡ) ⊙ (Wˡ⁺¹)ᵀ δˡ⁺¹，代入数值",
    ),
    "explain.recursion.note": (
        "Each line is note 000's recursion with this network's numbers; autograd agrees with every δ below.",
        "每一行都是笔记 000 的递推式，代入了这个网络的数值；下面每个 δ 都与自动微分的结果一致。",
    ),
    "explain.bridge": ("From δ to the weights: ∂C/∂w_ij = δ_i a_j", "由 δ 得到权重的梯度：∂C/∂w_ij = δ_i a_j"),
    "explain.bridge.note": (
        "One sample: ∂C/∂wˡ_ij = δˡ_i aˡ⁻¹_j. A batch, one row per sample (Δˡ is N×nˡ, Aˡ⁻¹ is N×nˡ⁻¹): "
        "∂C/∂Wˡ = Σ_r δˡ_r (aˡ⁻¹_r)ᵀ = (Δˡ)ᵀ Aˡ⁻¹, and ∂C/∂bˡ = Σ_r δˡ_r.",
        "单个样本：∂C/∂wˡ_ij = δˡ_i aˡ⁻¹_j。一批样本，每个样本一行（Δˡ 为 N×nˡ，Aˡ⁻¹ 为 N×nˡ⁻¹）："
        "∂C/∂Wˡ = Σ_r δˡ_r (aˡ⁻¹_r)ᵀ = (Δˡ)ᵀ Aˡ⁻¹，而 ∂C/∂bˡ = Σ_r δˡ_r。",
    ),
    "explain.kink": (
        "— marks an entry at a kink (a max-pool tie, ReLU at 0): the loss has no derivative there, "
        "so no finite difference is shown; · marks an entry not sampled.",
        "— 表示该元素位于不可导的折点（最大池化的并列最大值、ReLU 在 0 处）：损失在那里没有导数，"
        "所以不显示有限差分；· 表示没有抽样的元素。",
    ),
    "explain.layer_z": ("layer l = {l}: its output is z{sup}", "第 {l} 层：输出 z{sup}"),
    "explain.layer_a": ("layer l = {l}: its output is a{sup}", "第 {l} 层：输出 a{sup}"),
    "explain.all_values": ("all {count} values", "全部 {count} 个值"),
}

TEXTS.update(
    {
        "conv.title": ("Backpropagation through a convolution", "卷积层的反向传播"),
        "conv.setup": (
            "input x ({h}×{w}), kernel k ({r}×{s}), stride u = {u}, v = {v}, padding a = {a}, b = {b}, bias {bias}",
            "输入 x（{h}×{w}），卷积核 k（{r}×{s}），步长 u = {u}，v = {v}，填充 a = {a}，b = {b}，偏置 {bias}",
        ),
        "conv.forward": (
            "forward  z[p,q] = bias + Σ_mn k[m,n]·x̃[p·u + m, q·v + n]",
            "前向：z[p,q] = bias + Σ_mn k[m,n]·x̃[p·u + m, q·v + n]",
        ),
        "conv.target": ("target t", "目标 t"),
        "conv.loss": ("C = ½ Σ (z − t)² = {loss};  δ = ∂C/∂z = z − t", "C = ½ Σ (z − t)² = {loss}；δ = ∂C/∂z = z − t"),
        "conv.dilated": (
            "δ′: δ dilated by the stride ({u1}, {v1} zeros between entries)",
            "δ′：把 δ 按步长膨胀（元素之间插入 {u1}、{v1} 个 0）",
        ),
        "conv.rotated": ("k rotated by 180°", "旋转 180° 的卷积核 k"),
        "conv.full": (
            "full convolution δ′ ∗ k  (= δ′ padded by k₁−1, k₂−1, cross-correlated with rot k)",
            "完整卷积 δ′ ∗ k（即把 δ′ 四周补 k₁−1、k₂−1 圈 0，再与旋转后的 k 做互相关）",
        ),
        "conv.crop": (
            "∂C/∂x = the full convolution cropped by the padding ({a} rows, {b} columns)",
            "∂C/∂x：把完整卷积的结果按填充裁掉（上下各 {a} 行，左右各 {b} 列）",
        ),
        "conv.autograd": ("  autograd", "  自动微分"),
        "conv.numeric": ("  finite differences", "  有限差分"),
        "conv.grad_k": ("∂C/∂k[m,n] = Σ_pq δ[p,q]·x̃[p·u + m, q·v + n]",) * 2,
        "conv.grad_b": (
            "∂C/∂bias = Σ δ = {grad};  largest disagreement {gap}",
            "∂C/∂bias = Σ δ = {grad}；三种算法之间的最大差异为 {gap}",
        ),
    }
)

TEXTS.update(
    {
        "rnn.title": ("Backpropagation through time", "随时间反向传播"),
        "rnn.name_rnn": ("an RNN (tanh)", "RNN（tanh）"),
        "rnn.name_lstm": ("an LSTM (forget-gate bias {bias})", "LSTM（遗忘门偏置 {bias}）"),
        "rnn.head": (
            "Backpropagation through time: {name}, {inputs} inputs, {hidden} hidden units, {steps} steps;",
            "随时间反向传播：{name}，{inputs} 个输入，{hidden} 个隐藏单元，共 {steps} 步；",
        ),
        "rnn.loss": (
            "loss C = ½‖h_{steps} − y‖² = {loss} on the last step only (docs/rnn-backprop.md).",
            "损失 C = ½‖h_{steps} − y‖² = {loss}，只在最后一步计算（见 docs/rnn-backprop.md）。",
        ),
        "rnn.dh_rnn": (
            "∂C/∂h_T = h_T − y;  ∂C/∂h_t = W_hhᵀ δ_{{t+1}} for t < T (no loss there)",
            "∂C/∂h_T = h_T − y；t < T 时 ∂C/∂h_t = W_hhᵀ δ_{{t+1}}（那里没有损失）",
        ),
        "rnn.dh_lstm": (
            "∂s = f̂_{{t+1}} ⊙ ∂s_{{t+1}} + ∂h ⊙ ô ⊙ (1 − tanh² s_t),   ∂h = W_hhᵀ δ_{{t+1}} (+ h_T − y at step T)",
            "∂s = f̂_{{t+1}} ⊙ ∂s_{{t+1}} + ∂h ⊙ ô ⊙ (1 − tanh² s_t)，∂h = W_hhᵀ δ_{{t+1}}（第 T 步再加上 h_T − y）",
        ),
        "rnn.step": ("step", "步"),
        "rnn.formula": ("∂C/∂x_t: formula", "∂C/∂x_t：公式"),
        "rnn.autograd": ("autograd", "自动微分"),
        "rnn.numeric": ("finite differences", "有限差分"),
        "rnn.gap": ("largest disagreement between the three: {gap}", "三种算法之间的最大差异：{gap}"),
        "rnn.jacobians": (
            "Going back from step T, each step multiplies δ by a Jacobian. Per step, the same inputs:",
            "从第 T 步往回走，每一步都把 δ 乘上一个雅可比矩阵。下面是相同输入下每一步的数值：",
        ),
        "rnn.log_scale": ("(log scale: R = RNN, L = LSTM)", "（对数刻度：R = RNN，L = LSTM）"),
        "rnn.change": (
            "from step {last} back to step 1, ‖∂C/∂x_t‖ changes by ×{rnn} in the RNN and ×{lstm} in the LSTM",
            "从第 {last} 步回到第 1 步，‖∂C/∂x_t‖ 在 RNN 中变为原来的 {rnn} 倍，在 LSTM 中变为 {lstm} 倍。",
        ),
    }
)
