"""Probabilities that respect the ICCS tree, and the back-off decision.

The classifier scores *label classes*: every code that appears as a label, at whatever level (a
vague "theft" is labelled `0502`, not a guessed leaf), plus `NONE`. A label class that has
descendant classes holds the "somewhere below here" mass; it is spread over those descendants in
proportion to their own probabilities. The result is a distribution over *terminal* classes, and
every node's probability is the sum over its subtree, so a parent's probability is exactly the
sum of its children's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from iccs.taxonomy import Taxonomy

NONE_CODE = "NONE"
NONE_TITLE = "Not a criminal offence"


def _lineage(code: str, taxonomy: Taxonomy) -> tuple[str, ...]:
    """Section-to-code chain; `NONE` stands alone at the top."""
    if code == NONE_CODE:
        return (NONE_CODE,)
    return tuple(c.code for c in taxonomy.path(code))


@dataclass(frozen=True)
class Decision:
    """The suggested code for one text: `backed_off` when no deeper code was confident."""

    code: str
    confidence: float
    backed_off: bool


class Hierarchy:
    """Precomputed index arithmetic between label classes, terminal classes and tree nodes."""

    def __init__(self, classes: list[str], taxonomy: Taxonomy) -> None:
        self.classes = list(classes)
        lineages = {c: _lineage(c, taxonomy) for c in self.classes}
        class_set = set(self.classes)
        self._has_descendant = {
            c: any(c != d and c in lineages[d] for d in class_set) for c in self.classes
        }
        self.terminal_idx = np.array(
            [i for i, c in enumerate(self.classes) if not self._has_descendant[c]], dtype=int
        )
        self.terminals = [self.classes[i] for i in self.terminal_idx]
        terminal_pos = {c: j for j, c in enumerate(self.terminals)}
        # For each class holding "below here" mass: the terminal columns it spreads over.
        self._spread = [
            (i, np.array([terminal_pos[d] for d in self.terminals if c in lineages[d]], dtype=int))
            for i, c in enumerate(self.classes)
            if self._has_descendant[c]
        ]
        # Every node that is a terminal or an ancestor of one, deepest nodes last.
        nodes: dict[str, None] = {}
        for t in self.terminals:
            for node in lineages[t]:
                nodes.setdefault(node, None)
        self.nodes = sorted(nodes, key=lambda n: (len(n) if n != NONE_CODE else 2, n))
        node_pos = {n: k for k, n in enumerate(self.nodes)}

        def lineage_matrix(codes: list[str]) -> sparse.csr_matrix:
            """codes x nodes: 1 where the node is the code or one of its ancestors."""
            pairs = [(i, node_pos[node]) for i, c in enumerate(codes) for node in lineages[c]]
            rows, cols = zip(*pairs, strict=True) if pairs else ((), ())
            return sparse.csr_matrix(
                (np.ones(len(rows)), (rows, cols)), shape=(len(codes), len(self.nodes))
            )

        self._aggregate = lineage_matrix(self.terminals)
        self._node_pos = node_pos
        # class -> every node at or above it: P(gold at or below a node), without spreading
        self._membership = lineage_matrix(self.classes)
        self.class_node = np.array([node_pos[c] for c in self.classes])
        self._children: dict[str | None, list[int]] = {}
        for n in self.nodes:
            chain = _lineage(n, taxonomy)
            parent = chain[-2] if len(chain) > 1 else None
            self._children.setdefault(parent, []).append(node_pos[n])
        self.node_is_terminal = np.array([n in terminal_pos for n in self.nodes])

    def terminal_proba(self, class_proba: np.ndarray) -> np.ndarray:
        """Spread the mass of non-terminal label classes onto their terminal descendants."""
        out = class_proba[:, self.terminal_idx].copy()
        for i, cols in self._spread:
            share = class_proba[:, self.terminal_idx[cols]]
            total = share.sum(axis=1, keepdims=True)
            uniform = np.full_like(share, 1.0 / len(cols))
            weights = np.where(total > 1e-12, share / np.maximum(total, 1e-12), uniform)
            out[:, cols] += class_proba[:, [i]] * weights
        return out

    def node_proba(self, class_proba: np.ndarray) -> np.ndarray:
        """Probability of every node: the sum of the terminal probabilities in its subtree."""
        terminal = self.terminal_proba(class_proba)
        return np.asarray(self._aggregate.T.dot(terminal.T).T)

    def subtree_proba(self, class_proba: np.ndarray) -> np.ndarray:
        """Probability that the gold code is each node or lies below it (no spreading): the
        honest confidence of suggesting that node."""
        return np.asarray(self._membership.T.dot(class_proba.T).T)

    def node_index(self, code: str) -> int:
        return self._node_pos[code]

    def decide(self, node_proba_row: np.ndarray, threshold: float) -> Decision:
        """Walk down from the root through the most probable child while it clears `threshold`.

        With threshold >= 0.5 at most one child can clear it, so the walk is unambiguous and the
        decision is also the most probable code at its depth. If not even a section clears it,
        the single most probable terminal is returned, unconfident, for a person to review.
        """
        current: int | None = None
        while True:
            options = self._children.get(None if current is None else self.nodes[current], [])
            if not options:
                break
            best = max(options, key=lambda k: node_proba_row[k])
            if node_proba_row[best] < threshold:
                break
            current = best
        if current is None:
            terminal_nodes = np.flatnonzero(self.node_is_terminal)
            best_terminal = int(terminal_nodes[np.argmax(node_proba_row[terminal_nodes])])
            return Decision(self.nodes[best_terminal], float(node_proba_row[best_terminal]), False)
        code = self.nodes[current]
        return Decision(code, float(node_proba_row[current]), not self.node_is_terminal[current])
