"""cs231n assignment 2's own API, backed by bprop's hand-derived ops.

The package mirrors the course's layout so that a student's notebook runs unchanged with
``cs231n`` replaced by ``bprop.cs231n``::

    layers.py          affine, relu, batch/layer/group norm, dropout, conv, max pool, losses:
                       ``*_forward(...) -> (out, cache)`` and ``*_backward(dout, cache)``
    layer_utils.py     the "sandwich" layers (affine_relu, conv_relu_pool, …)
    fast_layers.py     conv and max pool through bprop's im2col ops
    optim.py           sgd, sgd_momentum, rmsprop, adam: ``(w, dw, config) -> (next_w, config)``
    solver.py          Solver: minibatch training, accuracy histories, best parameters
    gradient_check.py  eval_numerical_gradient(_array), grad_check_sparse, rel_error
    classifiers/       fc_net.TwoLayerNet, fc_net.FullyConnectedNet, cnn.ThreeLayerConvNet
    data_utils.py      get_CIFAR10_data;  vis_utils.py  visualize_grid

Every backward here calls the backward of a bprop op (``bprop.ops``): the derivation lives in
that op's docstring once, and the course's functions are a façade over it. The one exception
is the multiclass SVM loss, which bprop has no op for; it is derived in ``layers.svm_loss``.

The course's conventions are kept where they differ from torch's: dropout's ``p`` is the
probability of KEEPING a unit, batch norm's running averages are
``momentum·running + (1 − momentum)·batch`` with the biased variance, weights are (D, H), and
random numbers come from NumPy's global generator (``np.random.seed`` makes the notebooks'
printed values come out again).
"""

from bprop.cs231n.gradient_check import rel_error

__all__ = ["rel_error"]
