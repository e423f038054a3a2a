"""Seeing backprop: computation-graph drawings, `explain` (the δ recursion with real numbers),
the step-through viewer `view`, training plots (matplotlib, the optional ``viz`` extra) and HTML reports."""

from bprop.viz.delta_recorder import DeltaRecorder
from bprop.viz.explain import Explanation, build_network, explain, teaching_network
from bprop.viz.explain_conv import ConvExplanation, explain_conv
from bprop.viz.graph import draw_graph, render
from bprop.viz.notebook import show, view_inline
from bprop.viz.recorder import VizRecorder
from bprop.viz.viewer import view

__all__ = [
    "ConvExplanation",
    "DeltaRecorder",
    "Explanation",
    "VizRecorder",
    "build_network",
    "draw_graph",
    "explain",
    "explain_conv",
    "render",
    "show",
    "teaching_network",
    "view",
    "view_inline",
]
