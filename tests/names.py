"""The one-hidden-layer network's canonical names (the first bank's), which many tests pin."""

from hwgen.engine import Network, build_steps

GIVEN_NAMES = ("X", "Y", "W1", "b1", "W2", "b2")
ANSWER_NAMES = tuple(s.name for s in build_steps(Network((1, 1, 1), ("linear", "linear"), "sse", 0.1)))
