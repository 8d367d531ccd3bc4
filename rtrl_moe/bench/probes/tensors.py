"""Tensor accounting: exact bytes a learner holds (each storage counted once).

* :class:`SavedTensorTracker` -- autograd's saved tensors through
  ``torch.autograd.graph.saved_tensors_hooks``.  A storage is counted once when first packed
  and released when the last packed handle that refers to it is garbage-collected (autograd
  frees a node's saved variables after it ran backward, or when the graph is dropped), so
  ``peak`` is the peak of *live* saved bytes.  Storages listed in ``exclude`` (parameters,
  counted under ``tensor_bytes_params``) are not counted.
* :class:`LiveTensorTracker` -- every live tensor created while active, through a dispatch
  mode: the fallback where torch.func refuses saved-tensor hooks.
* :func:`unique_bytes` -- bytes of a collection of tensors, each storage once.
"""
from __future__ import annotations

import threading
from typing import Any, Iterable

#: behaviour version of what this probe counts (rtrl_moe/records/versions.py)
VERSIONS = {"probe.tensors": 1}


# -- tensor accounting -------------------------------------------------------------------------
def storage_key(t) -> tuple[tuple, int]:
    """``(key, nbytes)`` identifying ``t``'s storage; views of one storage share a key."""
    try:
        st = t.untyped_storage()
        ptr = st.data_ptr()
        nbytes = int(st.nbytes())
        if ptr == 0:
            return ("empty", id(st)), 0
        return (t.device.type, t.device.index, ptr), nbytes
    except Exception:  # sparse / nested / wrapper tensors without a plain storage
        return ("obj", id(t)), int(t.numel() * t.element_size())


def unique_bytes(tensors: Iterable[Any]) -> int:
    seen: dict = {}
    for t in tensors:
        if t is None:
            continue
        k, n = storage_key(t)
        seen[k] = n
    return int(sum(seen.values()))


def optimizer_state_tensors(opt) -> list:
    import torch
    out = []
    for st in opt.state.values():
        for v in st.values():
            if isinstance(v, torch.Tensor):
                out.append(v)
    return out


class _Packed:
    __slots__ = ("tensor", "key", "tracker", "__weakref__")

    def __init__(self, tensor, key, tracker):
        self.tensor = tensor
        self.key = key
        self.tracker = tracker

    def __del__(self):
        tr = self.tracker
        if tr is not None:
            try:
                tr._release(self.key)
            except Exception:
                pass


class _StorageCounts:
    """Live bytes per storage, each storage counted once however many tensors share it, and
    the peak of their sum. Both trackers below count this way; they differ in what they see."""

    def __init__(self, exclude: Iterable[Any] = ()):
        self.exclude = {storage_key(t)[0] for t in exclude}
        self._live: dict = {}  # key -> [holders, nbytes]
        self._lock = threading.Lock()
        self.current = 0
        self.peak = 0

    def _hold(self, key, nbytes) -> None:
        """One more holder of a storage (call with the lock held)."""
        ent = self._live.get(key)
        if ent is None:
            ent = self._live[key] = [0, nbytes]
            self.current += nbytes
            if self.current > self.peak:
                self.peak = self.current
        ent[0] += 1

    def _release(self, key) -> None:
        with self._lock:
            ent = self._live.get(key)
            if ent is None:
                return
            ent[0] -= 1
            if ent[0] == 0:
                self.current -= ent[1]
                del self._live[key]


class SavedTensorTracker(_StorageCounts):
    """Count autograd saved tensors (each storage once) while active; track the live peak.

    Use as a context manager around forward and backward::

        with SavedTensorTracker(exclude=params) as tr:
            loss = model(x).sum(); loss.backward()
        tr.peak   # bytes
    """

    def __init__(self, exclude: Iterable[Any] = ()):
        super().__init__(exclude)
        self.n_packed = 0
        self.n_excluded = 0
        self._ctx = None

    def _pack(self, t):
        key, nbytes = storage_key(t)
        if key in self.exclude:
            self.n_excluded += 1
            return t
        with self._lock:
            self.n_packed += 1
            self._hold(key, nbytes)
        # a detached alias (same storage and version counter, no grad_fn): keeping the tensor
        # itself would make a reference cycle for saved outputs (tensor -> grad_fn -> saved
        # handle -> tensor) and keep the graph alive until the cyclic GC runs
        return _Packed(t.detach(), key, self)

    @staticmethod
    def _unpack(h):
        return h.tensor if isinstance(h, _Packed) else h

    @property
    def live_storages(self) -> int:
        return len(self._live)

    def __enter__(self):
        import torch
        self._ctx = torch.autograd.graph.saved_tensors_hooks(self._pack, self._unpack)
        self._ctx.__enter__()
        return self

    def __exit__(self, *exc):
        ctx, self._ctx = self._ctx, None
        return ctx.__exit__(*exc)



# -- fallback: live tensors through a dispatch mode ---------------------------------------------
TORCH_FUNC_HOOKS_MSG = "don't yet support saved tensor hooks"


def hooks_refused(exc: BaseException) -> bool:
    """True when ``exc`` is torch.func refusing to run under saved-tensor hooks."""
    return isinstance(exc, RuntimeError) and TORCH_FUNC_HOOKS_MSG in str(exc)


class LiveTensorTracker(_StorageCounts):
    """Peak bytes of live tensor storages created while active (each storage once).

    Used where autograd's saved-tensor hooks cannot be (torch.func transforms refuse to run
    under them).  Every op's outputs are seen through a ``TorchDispatchMode`` (below torch.func's
    batching, so physical tensors); a storage is counted when first produced and released when
    the last tensor object seen on it is freed.  ``current`` at the end is what the work left
    alive (gradients, learner state, optimizer state); ``peak - current`` is the transient peak.
    """

    def __init__(self, exclude: Iterable[Any] = ()):
        super().__init__(exclude)
        self.n_seen = 0
        self._mode = None
        self._refs: dict = {}
        self._next = 0
        import weakref
        self._weakref = weakref.ref

    def _see(self, t) -> None:
        key, nbytes = storage_key(t)
        if nbytes == 0 or key in self.exclude:
            return
        with self._lock:
            self._hold(key, nbytes)
            self.n_seen += 1
            # a weakref whose callback releases the storage when the tensor object dies; the
            # refs are kept in a dict (a weakref must outlive its referent to fire)
            token = self._next
            self._next += 1
            self._refs[token] = self._weakref(t, self._callback(token, key))

    def _callback(self, token, key):
        def cb(_ref, token=token, key=key, tracker=self):
            tracker._refs.pop(token, None)
            tracker._release(key)
        return cb

    def __enter__(self):
        import torch
        from torch.utils._python_dispatch import TorchDispatchMode
        from torch.utils._pytree import tree_flatten

        see = self._see
        Tensor = torch.Tensor

        class _Mode(TorchDispatchMode):
            def __torch_dispatch__(self, func, types, args=(), kwargs=None):
                out = func(*args, **(kwargs or {}))
                try:
                    if isinstance(out, Tensor):
                        see(out)
                    else:
                        for t in (out if isinstance(out, (tuple, list)) else tree_flatten(out)[0]):
                            if isinstance(t, Tensor):
                                see(t)
                except Exception:
                    pass
                return out

        self._mode = _Mode()
        self._mode.__enter__()
        return self

    def __exit__(self, *exc):
        mode, self._mode = self._mode, None
        return mode.__exit__(*exc)
