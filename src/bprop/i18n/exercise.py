"""Texts of the exercises and of `bprop check`: titles, the report, problems and diagnoses."""

TEXTS: dict[str, tuple[str, str]] = {
    # --- titles ---------------------------------------------------------------------------------
    "ex.affine": ("an affine layer", "全连接（仿射）层"),
    "ex.relu": ("ReLU", "ReLU"),
    "ex.sigmoid": ("the sigmoid", "sigmoid 函数"),
    "ex.softmax_ce": ("softmax cross-entropy", "softmax 交叉熵"),
    "ex.dropout": ("inverted dropout", "inverted dropout"),
    "ex.batchnorm": ("batch norm (training mode)", "批归一化（训练模式）"),
    "ex.layernorm": ("layer norm", "层归一化"),
    "ex.conv": ("a convolution layer", "卷积层"),
    "ex.maxpool": ("max pooling", "最大池化"),
    # --- what a case puts to the test -----------------------------------------------------------------
    "case.plain": ("", ""),
    "case.batch1": ("batch of 1", "批大小为 1"),
    "case.zeros": ("exact zeros at the kink", "输入里有恰好为 0 的点（折点）"),
    "case.ties": ("exact ties in the windows", "窗口内有完全相等的最大值"),
    "case.overlap": ("overlapping windows", "窗口相互重叠"),
    "case.pad0": ("padding 0", "没有填充"),
    "case.stride_gaps": ("stride > kernel: rows the windows skip", "步长大于核：有窗口跳过的行"),
    "case.negative_dout": ("dout = {dout:g}", "dout = {dout:g}"),
    # --- the report ----------------------------------------------------------------------------------
    "report.header": ("{path}: {title}, graded on {count} cases:", "{path}：{title}，共用 {count} 组输入评分："),
    "report.case": ("  case {k}: {shapes}{note}", "  第 {k} 组：{shapes}{note}"),
    "report.note": (" ({note})", "（{note}）"),
    "report.ok": ("ok   ", "对"),
    "report.wrong": ("WRONG", "错"),
    "report.errors": (
        "rel. error {bprop:.1e} vs bprop, {numeric} vs finite differences",
        "与 bprop 的相对误差 {bprop:.1e}，与有限差分的相对误差 {numeric}",
    ),
    "report.shape_differs": ("shape differs", "形状不对"),
    "report.kinks_only": ("— (every case has a kink)", "—（每组都含折点）"),
    "report.in_case": ("in case {k}: {diagnosis}", "第 {k} 组：{diagnosis}"),
    "report.all_right": ("all {total} gradients right", "{total} 个梯度全对。"),
    "report.some_wrong": ("{wrong} of {total} gradients wrong", "{total} 个梯度中有 {wrong} 个不对。"),
    "report.list": (
        "(backward returned a list; the values in it were graded, though a tuple is the convention)",
        "（backward 返回的是列表；已按其中的值评分，不过惯例是返回元组。）",
    ),
    # --- problems that stop the grading -------------------------------------------------------------
    "problem.not_written": (
        "backward is not written yet (it raises NotImplementedError)",
        "backward 还没有写（它抛出 NotImplementedError）。",
    ),
    "problem.forward_edited": (
        "forward no longer computes the op (it was edited?): restore it, only backward is yours",
        "forward 算出的已不是这个运算（被改过了？）：请恢复它，你只需写 backward。",
    ),
    "problem.raised": ("{what} raised {error} in case {k}", "第 {k} 组里 {what} 抛出了 {error}"),
    "problem.sys_exit": ("{what} called sys.exit({code}) in case {k}", "第 {k} 组里 {what} 调用了 sys.exit({code})"),
    "problem.returned_none": (
        "backward returned None: it computes the gradients but never `return`s them ({names})",
        "backward 返回了 None：算出了梯度，却忘了 `return` 它们（{names}）。",
    ),
    "problem.count": (
        "backward returned {count} value(s); it should return {expected}: {names}",
        "backward 返回了 {count} 个值，应当返回 {expected} 个：{names}。",
    ),
    "problem.one_array": (
        "backward returned one array; it should return {expected} values: {names}",
        "backward 只返回了一个数组，应当返回 {expected} 个值：{names}。",
    ),
    "problem.not_sequence": (
        "backward returned {type}; it should return the tuple ({names})",
        "backward 返回的是 {type}，应当返回元组 ({names})。",
    ),
    # --- the child process ------------------------------------------------------------------------------
    "child.timeout": (
        "{path}: still running after {limit:g} s (an endless loop?); stopped it",
        "{path}：运行 {limit:g} 秒仍未结束（死循环？），已终止。",
    ),
    "child.output": (
        "{path}: printed more than {limit} bytes; stopped it (remove the prints from loops)",
        "{path}：输出超过 {limit} 字节，已终止（请去掉循环里的 print）。",
    ),
    "child.died": (
        "{path}: the Python process ended (exit status {status}) before backward returned{detail}",
        "{path}：backward 还没返回，Python 进程就结束了（退出码 {status}）{detail}",
    ),
    "child.died_detail": (": {line}", "：{line}"),
    "child.no_detail": (" (os._exit()?)", "（调用了 os._exit()？）"),
    "child.run_file": ("{path}: running the file {error}", "{path}：运行这个文件时{error}"),
    "child.raised": ("raised {error}", "抛出了 {error}"),
    "child.exit": ("called sys.exit({code})", "调用了 sys.exit({code})"),
    "child.no_function": (
        "{path}: defines no function {name}(...); the exercise needs forward and backward",
        "{path}：没有定义函数 {name}(...)；练习需要 forward 和 backward 两个函数。",
    ),
    # --- generic diagnoses --------------------------------------------------------------------------
    "d.none": ("is None (nothing returned for it)", "是 None（这个梯度没有返回值）。"),
    "d.not_numbers": ("is {type}, not an array of numbers", "是 {type}，不是数值数组。"),
    "d.integers": (
        "is an array of integers (dtype {dtype}): the fractions were cut off; build it as floats "
        "(np.zeros_like(x) of a float x, or dtype=float)",
        "是整数数组（dtype {dtype}）：小数部分被截掉了；请用浮点数组（对浮点的 x 用 np.zeros_like(x)，"
        "或写 dtype=float）。",
    ),
    "d.nan": ("contains NaN or inf", "含有 NaN 或 inf。"),
    "d.transposed": ("transposed: the right numbers, rows and columns swapped", "转置了：数值对，行和列对调了。"),
    "d.transposed_shape": (
        "transposed ({shapes}): swap the operands of the product, or transpose it",
        "转置了（{shapes}）：交换矩阵乘积的两个因子，或把结果转置。",
    ),
    "d.shapes": ("expected shape {expected}, got {got}", "应为形状 {expected}，实际是 {got}"),
    "d.keepdims": (
        "the right numbers, but in shape {got} where {expected} belongs: sum without keepdims=True (or reshape)",
        "数值对，但形状是 {got}，应为 {expected}：求和时不要写 keepdims=True（或 reshape）。",
    ),
    "d.with_shape": ("{diagnosis} ({shapes})", "{diagnosis}（{shapes}）"),
    "d.missing_sum": (
        "missing a sum over {where} ({shapes}): the parameter is shared, so its gradient adds every use",
        "缺少对{where}的求和（{shapes}）：参数是共享的，它的梯度要把每一次使用加起来。",
    ),
    "d.missing_sum_then": (
        "missing a sum over {where} ({shapes}), and then {scale}",
        "缺少对{where}的求和（{shapes}），而且{scale}",
    ),
    "d.where_batch": ("the batch (axis 0)", "批（第 0 轴）"),
    "d.where_axes": ("axes {axes}", "第 {axes} 轴"),
    "d.where_batch_positions": ("axes {axes}, the batch and the positions", "第 {axes} 轴，即批和各个位置"),
    "d.wrong_shape": (
        "wrong shape: {shapes} (a gradient has the shape of its input)",
        "形状不对：{shapes}（梯度与它对应的输入同形）。",
    ),
    "d.unknown": (
        "no known mistake matches; largest difference at {index}: yours {mine}, bprop's {truth}",
        "没有匹配到已知的错误；差别最大处在 {index}：你的是 {mine}，bprop 的是 {truth}。",
    ),
    "d.sign": ("the sign is flipped", "符号反了。"),
    "d.opposite": (
        "points the opposite way: {factor}× the right gradient (a sign flipped, and a wrong scale)",
        "方向正好相反：是正确梯度的 {factor} 倍（符号反了，大小也不对）。",
    ),
    "d.missing_mean": (
        "{n}× too large: a missing 1/N (N = {n}, the batch size; the loss is a mean)",
        "大了 {n} 倍：少了 1/N（N = {n} 是批大小，损失是平均值）。",
    ),
    "d.extra_mean": (
        "{n}× too small: an extra 1/N (N = {n}, the batch size)",
        "小了 {n} 倍：多除了一个 1/N（N = {n} 是批大小）。",
    ),
    "d.factor2": (
        "off by a factor {factor} (a square's 2, or a term counted twice)",
        "差了 {factor} 倍（平方求导的 2，或者某一项算了两次）。",
    ),
    "d.factor": (
        "the right direction but {factor}× the size: a wrong constant factor",
        "方向对，但大小是正确值的 {factor} 倍：常数因子不对。",
    ),
    "d.ignored_dout": (
        "ignored dout: this is the gradient for dout = 1; multiply by dout (the chain rule)",
        "忽略了 dout：这是 dout = 1 时的梯度；按链式法则还要乘上 dout。",
    ),
    "d.ignored_dout_scalar": (
        "ignored dout (here dout = ∂L/∂loss = {dout:g}): multiply the gradient by it, sign included",
        "忽略了 dout（这一组里 dout = ∂L/∂loss = {dout:g}）：梯度要乘上它，连同它的符号。",
    ),
    # --- ReLU -----------------------------------------------------------------------------------------
    "m.relu.no_dout": (
        "returned the local derivative [x > 0] without multiplying by dout",
        "只返回了局部导数 [x > 0]，没有乘以 dout。",
    ),
    "m.relu.times_out": (
        "multiplied dout by the output max(x, 0) instead of the mask [x > 0]",
        "用输出 max(x, 0) 乘 dout，应当乘的是掩码 [x > 0]。",
    ),
    "m.relu.inverted": (
        "passed dout where x < 0 and blocked it where x > 0 (mask inverted)",
        "在 x < 0 处放行了 dout，在 x > 0 处却挡住了（掩码反了）。",
    ),
    "m.relu.at_zero": (
        "passed dout at x = 0 exactly: the exercise (and torch) take the derivative 0 there, so use x > 0",
        "在 x 恰好为 0 处也放行了 dout：本练习（与 torch 一样）规定该处导数取 0，请用 x > 0。",
    ),
    "m.relu.on_dout": (
        "applied ReLU to dout (max(dout, 0)): the mask comes from the input x, not from dout",
        "把 ReLU 作用在了 dout 上（max(dout, 0)）：掩码应由输入 x 决定，而不是 dout。",
    ),
    # --- sigmoid -----------------------------------------------------------------------------------------
    "m.sigmoid.twice": (
        "applied σ to the cache, which already holds σ(x): σ′ = s·(1 − s) with s the cached value itself",
        "对缓存又做了一次 σ，而缓存里已经是 σ(x)：σ′ = s·(1 − s)，s 直接用缓存的值。",
    ),
    "m.sigmoid.no_s": ("dropped the σ(x) factor: dout·(1 − σ(x))", "漏掉了因子 σ(x)：写成了 dout·(1 − σ(x))。"),
    "m.sigmoid.no_dout": ("returned σ′(x) without multiplying by dout", "只返回了 σ′(x)，没有乘以 dout。"),
    "m.sigmoid.one_plus": ("wrote s·(1 + s) where s·(1 − s) belongs", "把 s·(1 − s) 写成了 s·(1 + s)。"),
    # --- softmax cross-entropy ------------------------------------------------------------------------------
    "m.ce.no_onehot": (
        "missing the term −[c = y]/N: the one-hot was not subtracted",
        "漏掉了 −[c = y]/N 这一项：没有减去 one-hot。",
    ),
    "m.ce.everywhere": (
        "subtracted 1 everywhere (p − 1) instead of only at the correct class",
        "在每个类别上都减了 1（p − 1），应当只在正确类别处减。",
    ),
    "m.ce.scores": ("used the scores x instead of the probabilities p", "用了得分 x，应当用概率 p。"),
    "m.ce.columns": (
        "p[:, y] -= 1 subtracts 1 in every row at every label's column: index one entry per row, "
        "p[np.arange(N), y] -= 1",
        "p[:, y] -= 1 会在每一行、每个标签所在的列都减 1：应当每行只取一个位置，写 p[np.arange(N), y] -= 1。",
    ),
    "m.ce.log_p": ("used log p where p belongs", "用了 log p，应当用 p。"),
    # --- dropout ------------------------------------------------------------------------------------------
    "m.dropout.no_mask": (
        "returned dout without the mask (dropped units must get no gradient)",
        "返回的 dout 没有乘掩码（被丢弃的单元不应得到梯度）。",
    ),
    "m.dropout.times_keep": ("multiplied by keep instead of dividing by it", "乘了 keep，应当除以 keep。"),
    "m.dropout.no_scale": (
        "forgot the 1/keep the forward pass applied to the kept units",
        "漏掉了前向传播对保留单元乘的 1/keep。",
    ),
    "m.dropout.inverted": (
        "used the inverted mask: the dropped units got the gradient and the kept ones none",
        "掩码用反了：被丢弃的单元得到了梯度，保留的单元反而没有。",
    ),
    # --- normalisation ----------------------------------------------------------------------------------------
    "m.norm.no_var": (
        "missing the term −x̂·mean(dx̂·x̂)/s: the path through the variance σ²",
        "漏掉了 −x̂·mean(dx̂·x̂)/s 这一项：即经过方差 σ² 的那条路径。",
    ),
    "m.norm.no_mean": (
        "missing the term −mean(dx̂)/s: the path through the mean μ",
        "漏掉了 −mean(dx̂)/s 这一项：即经过均值 μ 的那条路径。",
    ),
    "m.norm.direct_only": (
        "only the direct path dx̂/s: missing both the μ and the σ² terms",
        "只有直接路径 dx̂/s：经过 μ 和经过 σ² 的两项都漏掉了。",
    ),
    "m.norm.no_gamma": (
        "forgot γ: used dout where dx̂ = γ·dout belongs",
        "忘了 γ：该用 dx̂ = γ·dout 的地方用了 dout。",
    ),
    "m.norm.wrong_axis": ("took the two means over the wrong axis", "两个均值取错了轴。"),
    "m.norm.unbiased": (
        "divided by {m_minus_1} (m − 1) in the σ² term where the biased variance of the forward pass "
        "divides by m = {m}: ∂σ²/∂x_j = 2(x_j − μ)/m",
        "在 σ² 那一项里除以了 m − 1 = {m_minus_1}，而前向传播用的是有偏方差，除以 m = {m}：∂σ²/∂x_j = 2(x_j − μ)/m。",
    ),
    "m.norm.var_sign": (
        "the σ² term has the wrong sign: dx = (dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂))/s subtracts it",
        "σ² 那一项的符号反了：dx = (dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂))/s 中它是减去的。",
    ),
    "m.norm.std_twice": (
        "divided by s twice (s² where s belongs)",
        "除了两次 s（该除 s 的地方除了 s²）。",
    ),
    "m.norm.gamma_is_beta": (
        "returned Σ dout (that is dbeta): dgamma = Σ dout·x̂",
        "返回的是 Σ dout（那是 dbeta）：dgamma = Σ dout·x̂。",
    ),
    "m.norm.beta_is_gamma": (
        "returned Σ dout·x̂ (that is dgamma): dbeta = Σ dout",
        "返回的是 Σ dout·x̂（那是 dgamma）：dbeta = Σ dout。",
    ),
    "m.norm.gamma_x": ("used x where x̂ belongs: dgamma = Σ dout·x̂", "用了 x，应当用 x̂：dgamma = Σ dout·x̂。"),
    # --- convolution -------------------------------------------------------------------------------------------
    "m.conv.rotation": (
        "the kernel is the wrong way round: dx is the full convolution of δ with the 180°-rotated kernel, "
        "which the loop form gets with w as it is (the rotation is missing, or a loop flipped w)",
        "卷积核的方向反了：dx 是 δ 与旋转 180° 的卷积核做的完整卷积，循环写法里直接用原来的 w 就等于它"
        "（要么漏了旋转，要么在循环里多翻转了一次 w）。",
    ),
    "m.conv.uncropped": (
        "returned the gradient of the padded input: crop {pad} pixel(s) of padding off each side",
        "返回的是填充后输入的梯度：要把每边 {pad} 个像素的填充裁掉。",
    ),
    "m.conv.crop_side": (
        "cropped the wrong part: the input sits at rows pad…pad + H − 1 of the padded grid, not at 0…H − 1",
        "裁错了位置：原输入位于填充后网格的第 pad 到 pad + H − 1 行，而不是第 0 到 H − 1 行。",
    ),
    "m.conv.crop_minus": (
        "dxp[:, :, pad:-pad, pad:-pad] is empty at padding 0 (-0 is 0): crop with pad : pad + H instead",
        "填充为 0 时 dxp[:, :, pad:-pad, pad:-pad] 是空数组（-0 就是 0）：请用 pad : pad + H 来裁剪。",
    ),
    "m.conv.not_dilated": (
        "δ was not dilated by the stride: with stride u, put u − 1 zeros between neighbouring entries of δ "
        "before the full convolution",
        "δ 没有按步长膨胀：步长为 u 时，做完整卷积之前要在 δ 相邻元素之间插入 u − 1 个 0。",
    ),
    "m.conv.assign": (
        "assigned (=) into the windows of dx, which overlap here: the contributions of overlapping windows add (+=)",
        "对 dx 的窗口用了赋值（=），而这里窗口相互重叠：重叠窗口的贡献要累加（+=）。",
    ),
    "m.conv.dw_rotated": ("dw is rotated by 180°: the loop form needs no flip", "dw 旋转了 180°：循环写法不需要翻转。"),
    "m.conv.dw_last": (
        "dw holds only the last window's share: add (+=) over every position",
        "dw 只保留了最后一个窗口的贡献：要对每个位置累加（+=）。",
    ),
    "m.conv.db_mean": (
        "averaged dout where db sums it: db[f] = Σ dout[n, f, i, j]",
        "对 dout 取了平均，而 db 应当求和：db[f] = Σ dout[n, f, i, j]。",
    ),
    # --- max pooling ----------------------------------------------------------------------------------------------
    "m.pool.every_entry": (
        "sent dout to every entry of the window, not only to its maximum",
        "把 dout 传给了窗口里的每一个元素，而不只是最大值所在处。",
    ),
    "m.pool.average": (
        "spread dout evenly over the window (average pooling's gradient)",
        "把 dout 平均分给了整个窗口（那是平均池化的梯度）。",
    ),
    "m.pool.all_ties": (
        "sent dout to every tied maximum: the convention (bprop's and torch's) is the first maximum of the "
        "window in row-major order, one entry per window",
        "把 dout 传给了所有并列的最大值：约定（bprop 与 torch 相同）是只传给窗口里按行优先顺序的第一个最大值，"
        "每个窗口只有一个位置。",
    ),
    "m.pool.last_tie": (
        "sent dout to the last tied maximum: the convention is the first one in row-major order",
        "把 dout 传给了最后一个并列的最大值：约定是按行优先顺序的第一个。",
    ),
    "m.pool.assign": (
        "assigned (=) into the windows of dx, which overlap here: the contributions of overlapping windows add (+=)",
        "对 dx 的窗口用了赋值（=），而这里窗口相互重叠：重叠窗口的贡献要累加（+=）。",
    ),
    "m.pool.assign_ties": (
        "assigned (=) into overlapping windows, and sent dout to every tied maximum: add (+=), and only the "
        "first maximum in row-major order gets it",
        "对重叠窗口用了赋值（=），还把 dout 传给了所有并列的最大值："
        "要累加（+=），并且只传给按行优先顺序的第一个最大值。",
    ),
}
