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
        "∂C/∂Wˡ = Σ_n δˡ_n (aˡ⁻¹_n)ᵀ = (Δˡ)ᵀ Aˡ⁻¹, and ∂C/∂bˡ = Σ_n δˡ_n.",
        "单个样本：∂C/∂wˡ_ij = δˡ_i aˡ⁻¹_j。一批样本，每个样本一行（Δˡ 为 N×nˡ，Aˡ⁻¹ 为 N×nˡ⁻¹）："
        "∂C/∂Wˡ = Σ_n δˡ_n (aˡ⁻¹_n)ᵀ = (Δˡ)ᵀ Aˡ⁻¹，而 ∂C/∂bˡ = Σ_n δˡ_n。",
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
