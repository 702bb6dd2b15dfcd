"""Teaching pictures drawn with Graphviz: the computational graph with values and
gradients, backpropagation step by step, and network architecture diagrams.

Drawing only reads the graph. ``graphviz`` is imported when a picture is made; rendering
(SVG, PNG, PDF) needs Graphviz's ``dot`` program, the DOT text (``.source``) does not.
"""
from .dot import GraphvizNotFoundError
from .graph import draw_graph
from .keep import keep
from .model import draw_model
from .steps import Steps, backward_steps, save_steps
from .watch import watch

__all__ = ["keep", "draw_graph", "draw_model", "backward_steps", "save_steps", "Steps", "watch",
           "GraphvizNotFoundError"]
