"""docs/attention-backprop.md's worked example, recomputed with bprop's op and the reference."""

import numpy as np

import bprop as bp
import bprop.nn.functional as F
from bprop import reference as ref
from tests.helpers import worked_example

ROUNDING = 5e-5  # the doc prints four decimals


def test_forward_and_backward_numbers_of_the_doc():
    e = worked_example("attention-backprop.md")
    q, k, v = (bp.tensor(e[n], requires_grad=True) for n in "QKV")
    mask = np.isfinite(e["mask"])  # torch's bool form: True = may attend
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    np.testing.assert_allclose(out.data, e["O"], atol=ROUNDING)
    out.backward(e["dO"])
    np.testing.assert_allclose(q.grad, e["dQ"], atol=ROUNDING)
    np.testing.assert_allclose(k.grad, e["dK"], atol=ROUNDING)
    np.testing.assert_allclose(v.grad, e["dV"], atol=ROUNDING)


def test_intermediate_steps_of_the_doc():
    e = worked_example("attention-backprop.md")
    q, k, v, mask, g = e["Q"], e["K"], e["V"], e["mask"], e["dO"]
    scores = np.array([ref.attention_scores(q, k, mask, i) for i in range(2)])
    np.testing.assert_allclose(scores, e["S"], atol=ROUNDING)
    probs = np.array([ref.softmax(row) for row in scores])
    np.testing.assert_allclose(probs, e["P"], atol=ROUNDING)
    np.testing.assert_allclose(g @ v.T, e["dP"])  # product (2)
    d_scores = np.array([ref.softmax_backward(s, u) for s, u in zip(scores, e["dP"])])
    np.testing.assert_allclose(d_scores, e["dS"], atol=ROUNDING)
    np.testing.assert_allclose(d_scores.sum(axis=1), 0, atol=1e-12)  # no component along the ones
    np.testing.assert_allclose(probs.T @ g, e["dV"], atol=ROUNDING)  # product (1)
    np.testing.assert_allclose(d_scores @ k / np.sqrt(2), e["dQ"], atol=ROUNDING)  # product (3)
    np.testing.assert_allclose(d_scores.T @ q / np.sqrt(2), e["dK"], atol=ROUNDING)  # product (4)
