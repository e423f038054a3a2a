"""Exercise mode: the written files, right answers graded right, typical wrong answers named."""

import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from tests.exercise.answers import FULL_CONVOLUTION, RIGHT, RIGHT_TOO, STAGED_BATCHNORM, UNDILATED, WRONG, with_backward

from bprop.exercise import ExerciseError, check_file, names, write_exercise


def test_every_op_has_an_exercise_and_a_right_answer():
    assert names() == [
        "affine",
        "relu",
        "sigmoid",
        "softmax_ce",
        "dropout",
        "batchnorm",
        "layernorm",
        "conv",
        "maxpool",
    ]
    assert set(RIGHT) == set(names())


@pytest.mark.parametrize("op", names())
def test_the_written_file_has_the_forward_and_the_hints_and_is_not_done(op, tmp_path):
    path = write_exercise(op, tmp_path / f"{op}.py")
    text = path.read_text()
    assert f'OP = "{op}"' in text and "def forward(" in text and "def backward(dout, cache):" in text
    assert f"bprop check {op}.py" in text and "    # " in text  # the hints are comments in backward
    report = check_file(path)
    assert not report.ok and "backward is not written yet" in report.format()


@pytest.mark.parametrize("op", names())
def test_right_answers_pass(op, tmp_path):
    report = check_file(with_backward(op, RIGHT[op], tmp_path))
    assert report.ok, report.format()
    for result in report.results:
        assert result.error_vs_bprop < 1e-8
        assert result.error_vs_numeric is None or result.error_vs_numeric < 1e-5
    assert report.format().endswith("gradients right")


def diagnosis_key(message):
    """The catalogue key of a diagnosis, looking through "… (expected shape …)"."""
    return message.values["diagnosis"].key if message.key == "d.with_shape" else message.key


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Every wrong answer graded once (child processes in parallel threads: most of their time
    is NumPy's import)."""
    folder = tmp_path_factory.mktemp("wrong")
    files = [with_backward(op, body, folder, f"{op}_{i}") for i, (op, body, _, _) in enumerate(WRONG)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        return list(pool.map(check_file, files))


def test_the_wrong_answer_set_is_large_and_distinct():
    assert len(WRONG) >= 80
    assert len({(op, body) for op, body, _, _ in WRONG}) == len(WRONG)


@pytest.mark.parametrize("i", range(len(WRONG)), ids=[f"{w[0]}-{w[2]}-{i}" for i, w in enumerate(WRONG)])
def test_every_wrong_answer_is_caught_and_named(i, graded):
    _, _, gradient, key = WRONG[i]
    report = graded[i]
    assert not report.ok, report.format()
    if gradient is None:
        assert report.problem is not None and (key is None or report.problem.key == key), report.format()
        return
    assert report.problem is None, report.format()
    result = {r.name: r for r in report.results}[gradient]
    assert not result.ok, report.format()
    if key is not None:
        assert diagnosis_key(result.diagnosis) == key, report.format()
    assert report.format("zh")  # every diagnosis renders in Chinese too


@pytest.mark.parametrize("op,body", RIGHT_TOO, ids=[f"{op}-{i}" for i, (op, _) in enumerate(RIGHT_TOO)])
def test_right_answers_written_other_ways_pass(op, body, tmp_path):
    report = check_file(with_backward(op, body, tmp_path))
    assert report.ok, report.format()


def test_a_returned_list_is_graded_with_a_note(tmp_path):
    report = check_file(with_backward(*RIGHT_TOO[0], tmp_path))
    assert report.ok and "a tuple is the convention" in report.format()


def test_an_unexplained_error_shows_where_and_an_exception_is_reported(tmp_path):
    report = check_file(with_backward("sigmoid", "return dout * s * (1 - s) + 0.01 * s", tmp_path))
    assert "no known mistake matches; largest difference at" in report.format()
    report = check_file(with_backward("affine", "return dout @ w, x.T @ dout, dout.sum(axis=0)", tmp_path, "raises"))
    assert "backward raised ValueError" in report.format()
    report = check_file(with_backward("affine", "return dout @ w.T, x.T @ dout", tmp_path, "two"))
    assert "backward returned 2 value(s); it should return 3: dx, dw, db" in report.format()


# The diagnoses issue 24 found misdirecting or missing, each in both languages.
LISTED = [
    (
        "conv",
        FULL_CONVOLUTION.replace("rotated = w[:, :, ::-1, ::-1]", "rotated = w"),
        "dx",
        "the kernel is the wrong way round",
        "卷积核的方向反了",
    ),
    (
        "affine",
        "return dout @ w.T, x.T @ dout, dout.sum(axis=0, keepdims=True)",
        "db",
        "sum without keepdims=True",
        "不要写 keepdims=True",
    ),
    (
        "softmax_ce",
        "n = p.shape[0]\ndx = p.copy()\ndx[np.arange(n), y] -= 1\nreturn dx / n",
        "dx",
        "ignored dout (here dout = ∂L/∂loss = 0.6)",
        "忽略了 dout",
    ),
    (
        "softmax_ce",
        "n = p.shape[0]\ndx = p.copy()\ndx[np.arange(n), y] -= 1\nreturn -0.5 * dout * dx / n",
        "dx",
        "points the opposite way",
        "方向正好相反",
    ),
    (
        "affine",
        "dx = dout @ w.T\ndw = x.T @ dout\ndb = dout.sum(axis=0)",
        None,
        "never `return`s them",
        "忘了 `return`",
    ),
    (
        "affine",
        "dx = np.zeros(x.shape, dtype=int)\ndx[:] = dout @ w.T\nreturn dx, x.T @ dout, dout.sum(axis=0)",
        "dx",
        "an array of integers (dtype int64)",
        "整数数组",
    ),
    ("layernorm", RIGHT["layernorm"].replace("a = gamma * dout", "a = dout"), "dx", "forgot γ", "忘了 γ"),
    (
        "batchnorm",
        STAGED_BATCHNORM.replace("* 2 * x_hat * std / N", "* 2 * x_hat * std / (N - 1)"),
        "dx",
        "divided by 5 (m − 1) in the σ² term",
        "除以了 m − 1 = 5",
    ),
    (
        "batchnorm",
        RIGHT["batchnorm"].replace("- x_hat * (a * x_hat)", "+ x_hat * (a * x_hat)"),
        "dx",
        "the σ² term has the wrong sign",
        "σ² 那一项的符号反了",
    ),
    (
        "conv",
        UNDILATED,
        "dx",
        "δ was not dilated by the stride",
        "δ 没有按步长膨胀",
    ),
    (
        "sigmoid",
        "sig = 1 / (1 + np.exp(-s))\nreturn dout * sig * (1 - sig)",
        "dx",
        "applied σ to the cache, which already holds σ(x)",
        "对缓存又做了一次 σ",
    ),
    (
        "softmax_ce",
        "n = p.shape[0]\ndx = p.copy()\ndx[:, y] -= 1\nreturn dout * dx / n",
        "dx",
        "p[:, y] -= 1 subtracts 1 in every row",
        "每一行、每个标签所在的列都减 1",
    ),
    (
        "maxpool",
        RIGHT["maxpool"].replace("+= dout[:, :, i, j]", "= dout[:, :, i, j]"),
        "dx",
        "assigned (=) into the windows of dx, which overlap here",
        "重叠窗口的贡献要累加",
    ),
    ("relu", "return dout * (x >= 0)", "dx", "passed dout at x = 0 exactly", "x 恰好为 0 处也放行了 dout"),
]


@pytest.mark.parametrize("op,body,gradient,english,chinese", LISTED, ids=[f"{w[0]}-{i}" for i, w in enumerate(LISTED)])
def test_the_listed_diagnoses_say_what_happened_in_both_languages(op, body, gradient, english, chinese, tmp_path):
    report = check_file(with_backward(op, body, tmp_path))
    assert not report.ok
    assert english in report.format(), report.format()
    assert chinese in report.format("zh"), report.format("zh")
    if gradient is not None:
        assert all(r.ok for r in report.results if r.name != gradient), report.format()


def test_the_five_false_passes_of_issue_24_fail(tmp_path):
    """Max pool to every tied max and with = for +=; conv cropped with pad:-pad and with HH for
    WW; ReLU passing δ at exactly 0: each was graded "all gradients right" before."""
    bodies = [
        ("maxpool", WRONG_BY_KEY["m.pool.all_ties"]),
        ("maxpool", RIGHT["maxpool"].replace("+= dout[:, :, i, j]", "= dout[:, :, i, j]")),
        ("conv", WRONG_BY_KEY["m.conv.crop_minus"]),
        ("conv", RIGHT["conv"].replace("j * stride + WW)", "j * stride + HH)")),
        ("relu", "return dout * (x >= 0)"),
    ]
    for k, (op, body) in enumerate(bodies):
        report = check_file(with_backward(op, body, tmp_path, f"{op}{k}"))
        assert not report.ok and "gradients right" not in report.format(), report.format()


WRONG_BY_KEY = {key: body for _, body, _, key in WRONG if key}


@pytest.mark.parametrize(
    "body,words",
    [
        ("while True:\n    pass", "still running after 3 s (an endless loop?)"),
        ("import os\nos._exit(0)", "the Python process ended (exit status 0) before backward returned (os._exit()?)"),
        ("import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)", "ended (exit status -11)"),
        ("while True:\n    print('x' * 1000)", "printed more than 1048576 bytes; stopped it"),
    ],
    ids=["loop", "os-exit", "crash", "output"],
)
def test_a_file_that_hangs_crashes_or_floods_gives_one_line(body, words, tmp_path):
    with pytest.raises(ExerciseError) as caught:
        check_file(with_backward("relu", body, tmp_path), time_limit=3)
    assert words in str(caught.value) and "\n" not in str(caught.value)


def test_sys_exit_in_backward_or_at_the_top_is_reported(tmp_path):
    report = check_file(with_backward("relu", "import sys\nsys.exit(0)", tmp_path))
    assert not report.ok and "backward called sys.exit(0) in case 1" in report.format()
    path = with_backward("relu", RIGHT["relu"], tmp_path, "top")
    path.write_text(path.read_text() + "\nimport sys\nsys.exit(3)\n")
    with pytest.raises(ExerciseError, match=r"running the file called sys\.exit"):
        check_file(path)


def test_the_report_names_every_case_and_kinks_have_no_finite_difference(tmp_path):
    text = check_file(with_backward("maxpool", RIGHT["maxpool"], tmp_path)).format()
    assert "case 1: x (2, 3, 6, 7), size (2, 3), stride 1 (exact ties in the windows)" in text
    text = check_file(with_backward("relu", RIGHT["relu"], tmp_path, "relu")).format()
    assert "vs finite differences" in text  # case 2 has no zeros
    zh = check_file(with_backward("conv", RIGHT["conv"], tmp_path, "conv")).format("zh")
    assert "共用 3 组输入评分" in zh and "3 个梯度全对。" in zh


def test_an_edited_forward_is_refused(tmp_path):
    path = with_backward("relu", RIGHT["relu"], tmp_path)
    path.write_text(path.read_text().replace("out = np.maximum(x, 0)", "out = np.maximum(x, 0.5)"))
    assert "forward no longer computes the op" in check_file(path).format()


def test_user_mistakes_are_exercise_errors(tmp_path):
    with pytest.raises(ExerciseError, match="unknown op 'softmax': there are exercises for affine, relu"):
        write_exercise("softmax", tmp_path / "x.py")
    write_exercise("relu", tmp_path / "relu.py")
    with pytest.raises(ExerciseError, match=r"relu\.py exists already: not overwriting it"):
        write_exercise("relu", tmp_path / "relu.py")
    with pytest.raises(ExerciseError, match=r"missing\.py: no such file"):
        check_file(tmp_path / "missing.py")
    (tmp_path / "broken.py").write_text("def backward(:\n")
    with pytest.raises(ExerciseError, match=r"broken.py:1: syntax error"):
        check_file(tmp_path / "broken.py")
    (tmp_path / "other.py").write_text('OP = "tanh"\n')
    with pytest.raises(ExerciseError, match="OP = 'tanh' is not an exercise"):
        check_file(tmp_path / "other.py")


def test_grading_does_not_depend_on_the_learner_touching_inputs(tmp_path):
    """A backward that writes into its cache (x_hat -= …) must not change what it is compared with."""
    body = RIGHT["batchnorm"].replace("dbeta = dout.sum(axis=0)", "dbeta = dout.sum(axis=0)\nx_hat += 0")
    assert check_file(with_backward("batchnorm", body, tmp_path)).ok
    report = check_file(with_backward("relu", RIGHT["relu"], tmp_path))
    assert report.ok and report.cases[0].inputs["x"].shape == (4, 6)


@pytest.mark.parametrize("op", names())
def test_the_exercise_files_in_chinese(op, tmp_path):
    path = write_exercise(op, tmp_path / f"{op}.py", lang="zh")
    text = path.read_text()
    assert text.startswith('"""练习：') and f"bprop check {op}.py --lang zh" in text
    hints = text[text.index("def backward") :]
    assert re.search("    # .*[\u4e00-\u9fff]", hints) and "NotImplementedError" in hints
    assert not re.search("[\u4e00-\u9fff][,;:]|[,;:] ?[\u4e00-\u9fff]", re.sub("`[^`]*`", "", text))
    report = check_file(with_backward(op, RIGHT[op], tmp_path, f"{op}_right"))
    assert report.ok
    zh_right = tmp_path / f"{op}_zh_right.py"
    zh_right.write_text(
        text.replace(
            text[text.index("    raise NotImplementedError") :].split("\n")[0],
            "\n".join("    " + line for line in RIGHT[op].splitlines()),
        )
    )
    assert check_file(zh_right, lang="zh").ok
