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

# report.html: its title, section headings and the sentences that stand in for missing data
TEXTS.update(
    {
        "run.title": ("bprop run: {model} on {data}", "bprop 训练报告：{model}，数据集 {data}"),
        "run.Configuration": ("Configuration", "配置"),
        "run.Model summary": ("Model summary", "模型概要"),
        "run.Final metrics": ("Final metrics", "最终指标"),
        "run.Training curves": ("Training curves", "训练曲线"),
        "run.Gradient flow": ("Gradient flow", "梯度流"),
        "run.δ per layer": ("δ per layer", "每一层的 δ"),
        "run.Weights and activations": ("Weights and activations", "权重与激活值"),
        "run.First-layer filters": ("First-layer filters", "第一层的卷积核"),
        "run.Confusion matrix": ("Confusion matrix", "混淆矩阵"),
        "run.Misclassified examples": ("Misclassified examples", "分错的样本"),
        "run.per_class": ("Per class", "各个类别"),
        "run.class": ("class", "类别"),
        "run.precision": ("precision", "精确率"),
        "run.recall": ("recall", "召回率"),
        "run.f1": ("F1", "F1"),
        "run.support": ("support", "样本数"),
        "run.no_deltas": (
            "Not recorded (a DeltaRecorder among the fit callbacks records it).",
            "没有记录（把 DeltaRecorder 加进 fit 的回调就会记录）。",
        ),
        "run.no_epochs": ("No epochs recorded.", "没有记录任何一轮。"),
        "run.few_steps": ("Too few steps to record gradient norms.", "步数太少，没有记录梯度范数。"),
        "run.not_recorded": ("Not recorded.", "没有记录。"),
        "run.no_conv": ("The model has no convolution layer.", "这个模型没有卷积层。"),
        "run.no_evaluation": ("No evaluation.", "没有做评估。"),
        "run.all_right": (
            "None: every test example was classified correctly.",
            "没有：每个测试样本都分对了。",
        ),
    }
)
