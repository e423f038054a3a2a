"""Texts of explain's per-layer lines and of its page around them (sections, checks, summaries).

A line's mathematics stays in the code (it reads the same in both languages); every word a
learner reads is here, the Chinese written as Chinese sentences.
"""

TEXTS: dict[str, tuple[str, str]] = {
    # ----- the page around the layers ---------------------------------------------------------
    "xl.network": ("Network: {chain}", "网络：{chain}"),
    "xl.loss_ce": (
        "loss: cross-entropy of the softmax, mean over the batch",
        "损失：softmax 交叉熵，对这一批样本取平均",
    ),
    "xl.loss_mse": ("loss: squared error, mean over all outputs", "损失：平方误差，对所有输出取平均"),
    "xl.training": ("; training mode", "；训练模式"),
    "xl.evaluation": ("; evaluation mode", "；评估模式"),
    "xl.batch": ("Batch of N = {n}: x", "一批 N = {n} 个样本：x"),
    "xl.targets": ("targets y", "目标 y"),
    "xl.forward": ("Forward pass", "前向传播"),
    "xl.backward": ("Backward pass, layer by layer", "反向传播，逐层进行"),
    "xl.summary": ("Summary", "总结"),
    "xl.autograd": ("autograd", "自动微分"),
    "xl.numeric": ("finite differences", "有限差分"),
    "xl.agreement": (
        "autograd: largest difference {auto};  finite differences ({checked} of {total} entries): "
        "largest difference {numeric}{kinks}",
        "自动微分：最大差异 {auto}；有限差分（{total} 个元素中查了 {checked} 个）：最大差异 {numeric}{kinks}",
    ),
    "xl.agreement_kinks": (
        "; {count} entries at a kink (no derivative there), not compared",
        "；{count} 个元素位于不可导的折点，不做比较",
    ),
    "xl.largest": (
        "largest disagreement among formula, autograd and finite differences: {gap}",
        "公式、自动微分与有限差分之间的最大差异：{gap}",
    ),
    "xl.step": (
        "One gradient-descent step θ := θ − {lr}·∇C:  C {before} → {after}",
        "走一步梯度下降 θ := θ − {lr}·∇C：C 从 {before} 变为 {after}",
    ),
    "xl.summarised": (
        "[shape {shape}: ‖·‖ = {norm}, mean {mean}, min {low}, max {high}; first values {first}, …]",
        "［形状 {shape}：‖·‖ = {norm}，均值 {mean}，最小值 {low}，最大值 {high}；前几个值 {first}，…］",
    ),
    "xl.scalar": ("scalar", "标量"),
    "xl.viewer_link": ("Step-through viewer of this graph", "逐步查看这个计算图的反向传播"),
    "xl.drawing": (
        "The drawing: neurons coloured by value (sample 0), connections by ∂C/∂W, width by |W|",
        "图中神经元的颜色表示它的值（样本 0），连线的颜色表示 ∂C/∂W，粗细表示 |W|。",
    ),
    # ----- dense layers and activations -----------------------------------------------------
    "xl.batch_sum": ("summed over the batch", "对这一批样本求和"),
    "xl.rows": ("one row per sample: {formula}", "每个样本一行：{formula}"),
    "xl.relu_prime": ("σ′(z) = 1 where z > 0, else 0", "σ′(z) 在 z > 0 处为 1，其余为 0"),
    "xl.leaky": ("a = z where z > 0, else s·z", "a 在 z > 0 处为 z，其余为 s·z"),
    "xl.leaky_prime": ("σ′(z) = 1 where z > 0, else s", "σ′(z) 在 z > 0 处为 1，其余为 s"),
    "xl.reshaped": ("y = x reshaped to {shape}", "y 是把 x 变形为 {shape} 的结果"),
    "xl.reshaped_back": ("∂C/∂x = δ reshaped back to {shape}", "∂C/∂x 是把 δ 变形回 {shape} 的结果"),
    # ----- dropout ----------------------------------------------------------------------------
    "xl.dropout_eval": ("eval mode: dropout is the identity", "评估模式下 dropout 是恒等映射"),
    "xl.dropout_all": ("p = 1 drops every unit", "p = 1 时丢弃所有单元"),
    "xl.dropout_mask": ("the mask: 1 = kept, 0 = dropped", "掩码：1 表示保留，0 表示丢弃"),
    "xl.dropout_back": ("only kept units pass δ back", "只有保留下来的单元把 δ 传回去"),
    # ----- batch norm and layer norm -----------------------------------------------------------
    "xl.per_channel": ("per channel, m = {per} = {m}", "每个通道分别计算，m = {per} = {m}"),
    "xl.arriving": ("the gradient arriving at y", "到达 y 的梯度"),
    "xl.term": ("term {n}: {formula}", "第 {n} 项：{formula}"),
    "xl.alike": ("it moves every x of the channel alike", "它让这个通道的每个 x 移动同样的量"),
    "xl.along": ("the part along x̂", "沿 x̂ 方向的部分"),
    "xl.running": ("eval mode: the running statistics", "评估模式：使用滑动平均的统计量"),
    "xl.per_sample": ("per sample, over its D = {d} features", "每个样本分别计算，对它的 D = {d} 个特征"),
    "xl.means_over_d": ("means over D", "均值都对 D 个特征取"),
    # ----- convolution ------------------------------------------------------------------------
    "xl.k_dilated": (
        "k dilated by {dilation} (zeros between the taps), k[0, 0]",
        "k 按 {dilation} 扩张（在抽头之间插入 0）后的 k[0, 0]",
    ),
    "xl.conv_forward": (
        "⋆: cross-correlation, x̃: x padded; stride u = {u}, v = {v}, padding a = {a}, b = {b}{groups}",
        "⋆ 表示互相关，x̃ 是补零后的 x；步长 u = {u}、v = {v}，填充 a = {a}、b = {b}{groups}",
    ),
    "xl.groups": (", {groups} groups", "，分成 {groups} 组"),
    "xl.out_channels": ("summed over the output channels", "对输出通道求和"),
    "xl.sample0": ("sample 0, output channel 0", "样本 0，输出通道 0"),
    "xl.dilated": (
        "δ′ = δ dilated by the stride ({u1}, {v1} zeros between entries)",
        "δ′ 是把 δ 按步长膨胀的结果（相邻元素之间插入 {u1}、{v1} 个 0）",
    ),
    "xl.rotated": ("the kernel rotated by 180°", "旋转 180° 的卷积核"),
    "xl.full": (
        "δ′ ∗ k = (δ′ padded by k₁−1, k₂−1) ⋆ rot180(k)",
        "δ′ ∗ k：把 δ′ 四周补 k₁−1、k₂−1 圈 0，再与 rot180(k) 做互相关（⋆）",
    ),
    "xl.full_note": ("the full convolution", "完整卷积"),
    "xl.crop": ("crop by the padding a = {a}, b = {b}", "按填充 a = {a}、b = {b} 裁掉边缘"),
    "xl.crop_note": ("output channel 0's share of ∂C/∂x[0, 0]", "输出通道 0 对 ∂C/∂x[0, 0] 的贡献"),
    # ----- pooling ----------------------------------------------------------------------------
    "xl.max_forward": (
        "y[c, p, q] = max of the window of x̃ at (p·u, q·v)",
        "y[c, p, q] = x̃ 在 (p·u, q·v) 处那个窗口内的最大值",
    ),
    "xl.routes": (
        "routes of sample 0, channel 0 (each δ goes to its window's maximum): {routes}{more}",
        "样本 0、通道 0 的路由（每个 δ 都流向它所在窗口的最大值）：{routes}{more}",
    ),
    "xl.more_windows": (", … ({count} windows)", "……（共 {count} 个窗口）"),
    "xl.placed": ("δ placed at each maximum, sample 0, channel 0", "把 δ 放在每个最大值处（样本 0，通道 0）"),
    "xl.max_backward": (
        "∂C/∂x = δ routed to the maximum of its window (0 elsewhere)",
        "∂C/∂x：δ 流向所在窗口的最大值，其余位置为 0",
    ),
    "xl.avg_forward": (
        "y[c, p, q] = (1/{size}) Σ window of x̃ at (p·u, q·v)",
        "y[c, p, q] = x̃ 在 (p·u, q·v) 处那个窗口之和的 1/{size}",
    ),
    "xl.avg_backward": (
        "∂C/∂x = each window spreads δ/{size} over its pixels (overlaps add)",
        "∂C/∂x：每个窗口把 δ/{size} 平均分给它的每个像素，重叠处相加",
    ),
}
