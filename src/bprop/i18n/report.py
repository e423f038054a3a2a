"""Texts of the training report's verdicts (DeltaRecorder)."""

TEXTS: dict[str, tuple[str, str]] = {
    "verdict.not_finite": (
        "exploding gradients: δ is not finite (inf or NaN) in some layer",
        "梯度爆炸：某一层的 δ 不是有限数（inf 或 NaN）。",
    ),
    "verdict.exploding": (
        "exploding gradients: mean ‖δ‖ grows from {b} at the last layer {last} to {a} at the first layer {first} "
        "(×{ratio}); lower the learning rate or the initial weights, or add batch norm",
        "梯度爆炸：平均 ‖δ‖ 从最后一层 {last} 的 {b} 增长到第一层 {first} 的 {a}（×{ratio}）；"
        "请降低学习率或初始权重，或者加上批归一化。",
    ),
    "verdict.vanishing": (
        "vanishing gradients: mean ‖δ‖ shrinks from {b} at the last layer {last} to {a} at the first layer {first} "
        "(×{ratio}); the first layers hardly learn (try ReLU, batch norm or a larger initial scale)",
        "梯度消失：平均 ‖δ‖ 从最后一层 {last} 的 {b} 缩小到第一层 {first} 的 {a}（×{ratio}）；"
        "前面几层几乎学不到东西（可以试试 ReLU、批归一化或更大的初始尺度）。",
    ),
    "verdict.flow": (
        "gradients flow: mean ‖δ‖ stays within ×{ratio} from the last layer to the first",
        "梯度传得过来：从最后一层到第一层，平均 ‖δ‖ 的变化不超过 ×{ratio}。",
    ),
    "verdict.dead": (
        "dead ReLUs: {dead} of {units} units of {label} were never active in epoch {epoch}; they pass no gradient "
        "back{advice}",
        "死亡的 ReLU：{label} 的 {units} 个单元中有 {dead} 个在第 {epoch} 轮从未被激活，"
        "它们不会往回传任何梯度{advice}。",
    ),
    "verdict.dead_advice": (
        " (more than half: lower the learning rate or check the initialisation)",
        "（超过一半：请降低学习率或检查初始化）",
    ),
    "verdict.none_dead": (
        "no dead ReLUs: every unit was active for some sample in the last epoch",
        "没有死亡的 ReLU：上一轮中每个单元都至少对一个样本被激活过。",
    ),
}
