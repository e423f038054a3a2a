"""The exercise files in Chinese: the header and each backward's hints, written as Chinese.

``write_exercise(op, path, lang="zh")`` swaps these in for the English header and comment
block; the code (forward, the cache's unpacking, OP) is the same in both languages.
"""

HEADER = '''"""练习：{title}的反向传播。

下面的前向传播已经写好。请写出 ``backward(dout, cache)``：已知 dout = ∂L/∂out（与 out
同形）和 forward 返回的 cache，返回
    {returns}
每个梯度都与对应的输入同形。注释里写着推导的步骤。写完用下面的命令检查：

    bprop check THIS_FILE.py --lang zh

它会在几组输入上（批大小为 1、奇数和非方形的尺寸、折点处恰好为 0 或并列的值）把你的
backward 与 bprop 手推的同一运算的反向传播比较，并逐个梯度指出哪里不对。
"""
'''

HINTS = {
    "affine": """    # out[n, m] = Σ_d x[n, d]·w[d, m] + b[m]。先对单个元素求导，再拼成矩阵：
    # - ∂out[n, m]/∂x[n, d] = w[d, m]：dx[n, d] = Σ_m dout[n, m]·w[d, m]，这是一个矩阵乘积；
    #   让形状告诉你哪个因子要转置：dx 必须是 (N, D)。
    # - ∂out[n, m]/∂w[d, m] = x[n, d]，而且每个样本 n 用的是同一个 w：dw 要对 n 求和。
    # - b[m] 加到了每一行上：db[m] = Σ_n dout[n, m]。
""",
    "relu": """    # 当 x > 0 时 out = x，否则 out 是常数 0，所以局部导数在 x > 0 处为 1，其余为 0
    # （x 恰好为 0 时取 0，与 torch 相同）。链式法则：dx = dout ·（局部导数）。
""",
    "sigmoid": """    # dσ/dx = e^(−x)/(1 + e^(−x))² = σ(x)·(1 − σ(x))：把 e^(−x)/(1 + e^(−x)) 写成 1 − σ(x)。
    # 缓存里已经是 σ(x) 本身，不需要再算指数，也不要再对它做一次 σ。链式法则：dx = dout · σ′(x)。
""",
    "softmax_ce": """    # 这里 dout 是一个数（∂L/∂loss；损失在计算图末端时为 1，但它可以是任何数，包括负数）。
    # 对单个样本，L_n = −x[y] + log Σ_c e^(x[c])，所以 ∂L_n/∂x[c] = p[c] − [c = y]：
    # 即 softmax 概率在正确类别处减 1（每一行只减一个位置）。
    # 损失是 N 个样本的平均：每个样本的梯度要除以 N，最后再乘以 dout。
""",
    "dropout": """    # out = x · m/keep，其中掩码 m 在前向传播时已经固定：对这个 x 来说，就是一个常数乘以 x。
    # 所以 dx = dout ·（那个常数）：被丢弃的单元没有梯度，保留的单元得到 dout/keep。
""",
    "norm": """    # 先给各部分起名：μ 和 σ² 是{over}的均值和（有偏）方差，
    # s = √(σ² + ε)，x̂ = (x − μ)/s，out = γ·x̂ + β。
    # 1. dbeta = Σ dout，dgamma = Σ dout·x̂，都对批求和（γ 和 β 被每个样本共享）。
    # 2. dx̂ = γ·dout。
    # 3. x 沿三条路径影响 x̂：直接影响（∂x̂_i/∂x_i = 1/s），经过 μ（∂μ/∂x_j = 1/m），
    #    经过 σ²（∂σ²/∂x_j = 2(x_j − μ)/m），其中 m = {m}。三条路径相加：
    #        dx = (1/s)·(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂))
    #    两个均值都取{over}的均值。减去的两项就是经过 μ 和经过 σ² 的路径。
""",
    "conv": """    # 每个输出 out[n, f, i, j] 都是 xp 的一个窗口的仿射函数：按前向传播同样的 (i, j) 循环，
    # 把 dout[:, :, i, j] 沿原路送回去。
    # - db[f] = Σ_{n,i,j} dout[n, f, i, j]：b[f] 加到了每张图的每个位置上。
    # - dw[f] += Σ_n dout[n, f, i, j]·window[n]：权重见过每张图的每个窗口。
    # - dxp[(i, j) 的窗口] += Σ_f dout[n, f, i, j]·w[f]：窗口会重叠，所以要累加（+=）。
    #   最后把 dxp 的填充裁掉得到 dx（用 pad : pad + H，填充为 0 时也对）：填充的 0 不是输入。
    # （整体来看，dx 是按步长膨胀后的 dout 与旋转 180° 的卷积核做的完整卷积；上面的循环写法
    # 不需要旋转任何东西。）
""",
    "maxpool": """    # 在 x 附近，一个窗口的最大值就是它最大的那个元素本身：对那个元素导数为 1，
    # 对其他元素为 0（轻轻改动它们不会改变最大值）。
    # 所以每个 dout[n, c, i, j] 只传给它那个窗口的最大值所在处。
    # 并列的最大值（ReLU 之后很常见）处没有导数；约定（torch 与 bprop 相同）是只有按行优先
    # 顺序的第一个最大值得到 dout：把窗口拉平成 (N, C, kh·kw)，用 np.argmax，它返回第一个。
    # 按前向传播同样的 (i, j) 循环；stride 小于 kh 或 kw 时窗口重叠，所以要累加（+=）到 dx。
""",
}

NORM_OVER = {"batchnorm": ("每个特征在批上（第 0 轴）", "N"), "layernorm": ("每个样本在其特征上（第 1 轴）", "D")}
