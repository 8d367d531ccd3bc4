"""CircularTree: range products of the last ``capacity`` matrices, as a segment tree.

Matrices are pushed one per time step into a circular buffer; ``product(t0, t1)`` returns
``M[t1] @ ... @ M[t0]`` (later times on the left, as Jacobians compose) for any window still in
the buffer, wrap-around included, in O(log n) node products. Internal nodes are computed when a
query first needs them and cached until one of their leaves is overwritten, so a step that asks
nothing pays nothing but the push.
"""
from __future__ import annotations


class CircularTree:
    def __init__(self, capacity: int):
        if capacity < 1:
            raise ValueError(f"CircularTree capacity must be >= 1, got {capacity}")
        size = 1
        while size < capacity:
            size *= 2
        self.capacity = capacity
        self._size = size
        self._nodes: list = [None] * (2 * size)
        self._fresh = [False] * (2 * size)
        self.count = 0                 # matrices pushed so far = the time index of the next one
        self.products = 0              # node products computed (for FLOP accounting)

    def push(self, matrix) -> int:
        """Store the matrix of time ``self.count``; returns that time."""
        i = self._size + self.count % self._size
        self._nodes[i] = matrix
        self._fresh[i] = True
        i //= 2
        while i:
            self._fresh[i] = False
            i //= 2
        self.count += 1
        return self.count - 1

    def oldest(self) -> int:
        return max(0, self.count - self.capacity)

    def product(self, t0: int, t1: int):
        """``M[t1] @ ... @ M[t0]`` for ``oldest() <= t0 <= t1 < count``."""
        if not self.oldest() <= t0 <= t1 < self.count:
            raise IndexError(f"window [{t0}, {t1}] is not in the buffer "
                             f"[{self.oldest()}, {self.count - 1}]")
        p0, p1 = t0 % self._size, t1 % self._size
        if p0 <= p1:
            return self._range(p0, p1)
        # Wrapped: positions 0..p1 hold the later times.
        return self._compose(self._range(0, p1), self._range(p0, self._size - 1))

    def nodes(self):
        return [n for n in self._nodes if n is not None]

    def _compose(self, later, earlier):
        self.products += 1
        return later @ earlier

    def _node(self, i):
        if not self._fresh[i]:
            self._nodes[i] = self._compose(self._node(2 * i + 1), self._node(2 * i))
            self._fresh[i] = True
        return self._nodes[i]

    def _range(self, lo: int, hi: int):
        left, right = [], []
        lo += self._size
        hi += self._size + 1
        while lo < hi:
            if lo & 1:
                left.append(lo)
                lo += 1
            if hi & 1:
                hi -= 1
                right.append(hi)
            lo //= 2
            hi //= 2
        ordered = left + right[::-1]            # position order = time order
        result = self._node(ordered[0])
        for i in ordered[1:]:
            result = self._compose(self._node(i), result)
        return result
