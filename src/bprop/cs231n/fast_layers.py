"""The course's fast conv and pool layers: bprop's im2col convolution and strided max pool.

Same API as the naive versions in layers.py (forward → (out, cache), backward(dout, cache));
no Cython to compile.
"""

from bprop.cs231n.layers import conv_backward_fast, conv_forward_fast, max_pool_backward_fast, max_pool_forward_fast

__all__ = ["conv_backward_fast", "conv_forward_fast", "max_pool_backward_fast", "max_pool_forward_fast"]
