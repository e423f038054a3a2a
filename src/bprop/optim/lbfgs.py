"""L-BFGS: a quasi-Newton method that builds its step from the last few gradient differences,
with torch's optional strong-Wolfe line search (after minFunc, as torch's is)."""

from __future__ import annotations

from typing import Any, Callable, Iterable

import numpy as np

from bprop.autograd import bump_version, enable_grad
from bprop.optim.optimizer import Optimizer, check_non_negative


class LBFGS(Optimizer):
    """Limited-memory BFGS — torch's algorithm step for step. ``step(closure)`` runs up to
    ``max_iter`` iterations, each re-evaluating the loss through ``closure``.

    With g_k the gradient (all parameters as one vector x), s_i = x_{i+1} − x_i and
    y_i = g_{i+1} − g_i for the last m pairs (``history_size``; a pair is kept only when
    yᵢᵀsᵢ > 10⁻¹⁰, which keeps the curvature estimate positive), the direction d = −H g
    comes from the two-loop recursion, H₀ = (yᵀs)/(yᵀy)·I of the newest pair::

        q ← −g;  for i = newest … oldest:  αᵢ ← ρᵢ sᵢᵀq,  q ← q − αᵢ yᵢ      (ρᵢ = 1/yᵢᵀsᵢ)
        r ← H₀ q; for i = oldest … newest:  βᵢ ← ρᵢ yᵢᵀr,  r ← r + (αᵢ − βᵢ) sᵢ
        d ← r                                       (d = −g on the very first iteration)

    The step is x ← x + t d with t = lr, except t = min(1, 1/‖g‖₁)·lr on the first iteration.
    With ``line_search_fn='strong_wolfe'`` t is searched (cubic interpolation, then zoom)
    until  f(x + t d) ≤ f(x) + c₁ t gᵀd  and  |∇f(x + t d)ᵀd| ≤ c₂ |gᵀd|  (c₁ = 10⁻⁴, c₂ = 0.9).
    It stops when max|g| ≤ ``tolerance_grad``, when the step or the loss changes by less than
    ``tolerance_change``, or after ``max_eval`` evaluations (default max_iter·5/4).
    One parameter group only; state (``d``, ``t``, the history) is kept on the first parameter.

    Example:
        >>> opt = LBFGS(model.parameters(), lr=1, line_search_fn="strong_wolfe")
        >>> def closure():
        ...     opt.zero_grad(); loss = loss_fn(model(x), y); loss.backward(); return loss
        >>> opt.step(closure)
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1,
        max_iter: int = 20,
        max_eval: int | None = None,
        tolerance_grad: float = 1e-7,
        tolerance_change: float = 1e-9,
        history_size: int = 100,
        line_search_fn: str | None = None,
    ):
        if line_search_fn not in (None, "strong_wolfe"):
            raise ValueError(f"LBFGS: line_search_fn must be None or 'strong_wolfe', got {line_search_fn!r}")
        defaults = dict(
            lr=lr,
            max_iter=max_iter,
            max_eval=max_iter * 5 // 4 if max_eval is None else max_eval,
            tolerance_grad=tolerance_grad,
            tolerance_change=tolerance_change,
            history_size=history_size,
            line_search_fn=line_search_fn,
        )
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        self._params = self.param_groups[0]["params"]

    def check_hyper_parameters(self, group: dict[str, Any]) -> None:
        check_non_negative(group, "lr")

    def state_dict(self) -> dict[str, Any]:
        """The base layout; the history lists are copied too, so later steps leave it as taken."""
        return _copy_lists(super().state_dict())

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        super().load_state_dict(_copy_lists(state_dict))

    # ----- the parameters as one flat vector ------------------------------------------------
    def _flat_grad(self) -> np.ndarray:
        return np.concatenate(
            [np.zeros(p.size) if p.grad is None else np.asarray(p.grad).reshape(-1) for p in self._params]
        )

    def _add(self, step: float, direction: np.ndarray) -> None:
        """x ← x + step·direction, parameter by parameter, in place."""
        offset = 0
        for p in self._params:
            theta = np.asarray(p)
            theta += (step * direction[offset : offset + theta.size]).reshape(theta.shape).astype(theta.dtype)
            offset += theta.size
            bump_version(p._version_counter)

    def _set(self, values: list[np.ndarray]) -> None:
        for p, value in zip(self._params, values):
            np.copyto(np.asarray(p), value)
            bump_version(p._version_counter)

    def _evaluate(self, closure: Callable[[], Any]) -> float:
        with enable_grad():
            return float(np.asarray(closure()))

    def _directional_evaluate(
        self, closure: Callable[[], Any], x: list[np.ndarray], t: float, d: np.ndarray
    ) -> tuple[float, np.ndarray]:
        """(f, ∇f) at x + t·d; the parameters are put back to x afterwards."""
        self._add(t, d)
        loss = self._evaluate(closure)
        flat_grad = self._flat_grad()
        self._set(x)
        return loss, flat_grad

    def step(self, closure: Callable[[], Any] | None = None) -> Any:  # type: ignore[override]
        """Up to ``max_iter`` L-BFGS iterations; returns the loss ``closure`` gave at the start."""
        if closure is None:
            raise ValueError("LBFGS.step needs a closure that re-evaluates the model and returns the loss")
        group = self.param_groups[0]
        lr, max_iter, max_eval = group["lr"], group["max_iter"], group["max_eval"]
        tolerance_grad, tolerance_change = group["tolerance_grad"], group["tolerance_change"]
        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        with enable_grad():
            orig_loss = closure()
        loss = float(np.asarray(orig_loss))
        current_evals = 1
        state["func_evals"] += 1
        flat_grad = self._flat_grad()
        if np.abs(flat_grad).max() <= tolerance_grad:
            return orig_loss

        d, t = state.get("d"), state.get("t")
        old_dirs, old_stps, ro = state.get("old_dirs"), state.get("old_stps"), state.get("ro")
        h_diag, prev_flat_grad, prev_loss = state.get("H_diag"), state.get("prev_flat_grad"), state.get("prev_loss")
        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1
            if state["n_iter"] == 1:
                d, old_dirs, old_stps, ro, h_diag = -flat_grad, [], [], [], 1.0
            else:
                y, s = flat_grad - prev_flat_grad, d * t
                ys = float(y @ s)
                if ys > 1e-10:  # keep the pair only where the curvature is positive
                    if len(old_dirs) == group["history_size"]:
                        old_dirs.pop(0), old_stps.pop(0), ro.pop(0)
                    old_dirs.append(y), old_stps.append(s), ro.append(1.0 / ys)
                    h_diag = ys / float(y @ y)
                d = _two_loop(flat_grad, old_dirs, old_stps, ro, h_diag)
            prev_flat_grad, prev_loss = flat_grad.copy(), loss
            t = min(1.0, 1.0 / np.abs(flat_grad).sum()) * lr if state["n_iter"] == 1 else lr
            gtd = float(flat_grad @ d)
            if gtd > -tolerance_change:  # not a descent direction
                break

            if group["line_search_fn"] == "strong_wolfe":
                x_init = [np.asarray(p).copy() for p in self._params]

                def obj_func(x: list[np.ndarray], t: float, d: np.ndarray) -> tuple[float, np.ndarray]:
                    return self._directional_evaluate(closure, x, t, d)

                loss, flat_grad, t, ls_func_evals = strong_wolfe(
                    obj_func, x_init, t, d, loss, flat_grad, gtd, max_ls=max_eval - current_evals
                )
                self._add(t, d)
                opt_cond = np.abs(flat_grad).max() <= tolerance_grad
            else:
                self._add(t, d)
                ls_func_evals, opt_cond = 0, False
                if n_iter != max_iter:  # no evaluation after the last step (the caller will)
                    loss = self._evaluate(closure)
                    flat_grad = self._flat_grad()
                    opt_cond = np.abs(flat_grad).max() <= tolerance_grad
                    ls_func_evals = 1
            current_evals += ls_func_evals
            state["func_evals"] += ls_func_evals
            if n_iter == max_iter or current_evals >= max_eval or opt_cond:
                break
            if np.abs(d * t).max() <= tolerance_change or abs(loss - prev_loss) < tolerance_change:
                break

        state.update(
            d=d, t=t, old_dirs=old_dirs, old_stps=old_stps, ro=ro, H_diag=h_diag,
            prev_flat_grad=prev_flat_grad, prev_loss=prev_loss,
        )  # fmt: skip
        return orig_loss


def _two_loop(
    flat_grad: np.ndarray, old_dirs: list[np.ndarray], old_stps: list[np.ndarray], ro: list[float], h_diag: float
) -> np.ndarray:
    """d = −H g by the two-loop recursion over the stored (s, y) pairs (see LBFGS)."""
    al = [0.0] * len(old_dirs)
    q = -flat_grad
    for i in range(len(old_dirs) - 1, -1, -1):
        al[i] = float(old_stps[i] @ q) * ro[i]
        q = q - al[i] * old_dirs[i]
    r = q * h_diag
    for i in range(len(old_dirs)):
        be_i = float(old_dirs[i] @ r) * ro[i]
        r = r + (al[i] - be_i) * old_stps[i]
    return r


def cubic_interpolate(
    x1: float, f1: float, g1: float, x2: float, f2: float, g2: float, bounds: tuple[float, float] | None = None
) -> float:
    """The minimiser, clipped to ``bounds`` (default [x1, x2]), of the cubic through (x1, f1) and
    (x2, f2) with slopes g1, g2; the middle of the bounds when the cubic has no minimum."""
    low, high = bounds if bounds is not None else ((x1, x2) if x1 <= x2 else (x2, x1))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1**2 - g1 * g2
    if d2_square < 0:
        return (low + high) / 2.0
    d2 = d2_square**0.5
    if x1 <= x2:
        min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
    else:
        min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    return min(max(min_pos, low), high)


def strong_wolfe(
    obj_func: Callable[[Any, float, np.ndarray], tuple[float, np.ndarray]],
    x: Any,
    t: float,
    d: np.ndarray,
    f: float,
    g: np.ndarray,
    gtd: float,
    c1: float = 1e-4,
    c2: float = 0.9,
    tolerance_change: float = 1e-9,
    max_ls: int = 25,
) -> tuple[float, np.ndarray, float, int]:
    """A step t along d meeting the strong Wolfe conditions (sufficient decrease, small slope):
    first grow t (cubic extrapolation) until a bracket holds a minimiser, then shrink the
    bracket by cubic interpolation (with a safeguard against slow progress). Returns
    (f, ∇f, t, evaluations)."""
    d_norm = float(np.abs(d).max())
    g = g.copy()
    f_new, g_new = obj_func(x, t, d)
    evals, gtd_new = 1, float(g_new @ d)
    t_prev, f_prev, g_prev, gtd_prev = 0.0, f, g, gtd
    done, ls_iter = False, 0
    bracket: list[float] = []
    bracket_f: list[float] = []
    bracket_g: list[np.ndarray] = []
    bracket_gtd: list[float] = []
    while ls_iter < max_ls:
        if f_new > f + c1 * t * gtd or (ls_iter > 1 and f_new >= f_prev):
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new.copy()], [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket, bracket_f, bracket_g, done = [t], [f_new], [g_new], True
            break
        if gtd_new >= 0:
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new.copy()], [gtd_prev, gtd_new]
            break
        min_step, max_step = t + 0.01 * (t - t_prev), t * 10
        t_prev, t = t, cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new, bounds=(min_step, max_step))
        f_prev, g_prev, gtd_prev = f_new, g_new.copy(), gtd_new
        f_new, g_new = obj_func(x, t, d)
        evals, gtd_new, ls_iter = evals + 1, float(g_new @ d), ls_iter + 1
    if ls_iter == max_ls:
        bracket, bracket_f, bracket_g = [0.0, t], [f, f_new], [g, g_new]

    # zoom: shrink the bracket until the conditions hold or it is too small to matter
    insuf_progress = False
    low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break
        t = cubic_interpolate(bracket[0], bracket_f[0], bracket_gtd[0], bracket[1], bracket_f[1], bracket_gtd[1])
        eps = 0.1 * (max(bracket) - min(bracket))
        if min(max(bracket) - t, t - min(bracket)) < eps:  # too close to an end: move in
            if insuf_progress or t >= max(bracket) or t <= min(bracket):
                t = max(bracket) - eps if abs(t - max(bracket)) < abs(t - min(bracket)) else min(bracket) + eps
                insuf_progress = False
            else:
                insuf_progress = True
        else:
            insuf_progress = False
        f_new, g_new = obj_func(x, t, d)
        evals, gtd_new, ls_iter = evals + 1, float(g_new @ d), ls_iter + 1
        if f_new > f + c1 * t * gtd or f_new >= bracket_f[low_pos]:
            bracket[high_pos], bracket_f[high_pos] = t, f_new
            bracket_g[high_pos], bracket_gtd[high_pos] = g_new.copy(), gtd_new
            low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high_pos] - bracket[low_pos]) >= 0:
                bracket[high_pos], bracket_f[high_pos] = bracket[low_pos], bracket_f[low_pos]
                bracket_g[high_pos], bracket_gtd[high_pos] = bracket_g[low_pos], bracket_gtd[low_pos]
            bracket[low_pos], bracket_f[low_pos] = t, f_new
            bracket_g[low_pos], bracket_gtd[low_pos] = g_new.copy(), gtd_new
    return bracket_f[low_pos], bracket_g[low_pos], bracket[low_pos], evals


def _copy_lists(state_dict: dict[str, Any]) -> dict[str, Any]:
    """``state_dict`` with each list in the per-parameter state copied, arrays in it too."""
    state = {
        index: {k: [np.array(a) for a in v] if isinstance(v, list) else v for k, v in s.items()}
        for index, s in state_dict["state"].items()
    }
    return {**state_dict, "state": state}
