"""The reader's hidden states at the read position, captured in the decode that gives P(none).

llama.cpp computes every layer's residual stream (``l_out-<layer>``) and the final-norm state
(``result_norm``) while it processes the read prompt; its scheduler callback (``cb_eval``) lets a
caller look at named graph nodes as they are computed. ``StateCapture`` answers the callback's
"do you want this node?" only for the names asked for, and copies the last token's column (the
token after which the model chooses its evidence). The logits, and so P(none), are the same with
and without it: the callback only reads (a test checks this).

llama-cpp-python binds the callback type but not the ggml functions needed to read a node; they are
bound here from ``libggml-base`` with ctypes.
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
from llama_index.core.base.llms.types import ChatMessage

FINAL_NORM = "result_norm"

States = dict[str, np.ndarray]


def layer_name(layer: int) -> str:
    """The graph node that holds the residual stream after ``layer`` (0-based)."""
    return f"l_out-{layer}"


@runtime_checkable
class StateReader(Protocol):
    """A backend that can read its choice of evidence and, in the same decode, give its hidden states
    (the embedded llama.cpp). Backends behind a server (Ollama, OpenAI-compatible) cannot."""

    model_name: str

    @property
    def model_sha256(self) -> str: ...

    @property
    def n_layer(self) -> int: ...

    def choose_with_states(
        self, messages: Sequence[ChatMessage], options: Sequence[str], names: Sequence[str]
    ) -> tuple[dict[str, float], States]:
        """``choose``'s probabilities, and the last prompt token's state at each of ``names``."""
        ...


@lru_cache(maxsize=1)
def _ggml() -> ctypes.CDLL:
    """libggml-base from llama-cpp-python's wheel, with the three functions reading a node needs."""
    import llama_cpp

    lib_dir = Path(llama_cpp.__file__).parent / "lib"
    candidates = sorted(lib_dir.glob("libggml-base.*"))
    if not candidates:
        raise RuntimeError(f"libggml-base not found in {lib_dir}; the llama-cpp-python install is incomplete")
    lib = ctypes.CDLL(str(candidates[0]))
    lib.ggml_get_name.restype = ctypes.c_char_p
    lib.ggml_get_name.argtypes = [ctypes.c_void_p]
    lib.ggml_nelements.restype = ctypes.c_int64
    lib.ggml_nelements.argtypes = [ctypes.c_void_p]
    lib.ggml_nbytes.restype = ctypes.c_size_t
    lib.ggml_nbytes.argtypes = [ctypes.c_void_p]
    lib.ggml_backend_tensor_get.restype = None
    lib.ggml_backend_tensor_get.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_size_t]
    return lib


class StateCapture:
    """A ``cb_eval`` callback that keeps the last token's column of the named nodes while armed.

    Disarmed (the default), it declines every node, so decoding runs as without it. One capture
    belongs to one llama.cpp context; the context's lock serialises its use."""

    def __init__(self) -> None:
        self.n_embd = 0  # set once the model is loaded
        self._wanted: frozenset[bytes] = frozenset()
        self._captured: dict[str, np.ndarray] = {}
        self._error: str | None = None
        self._lib = _ggml()
        from llama_cpp import llama_cpp as lib

        self.callback = lib.ggml_backend_sched_eval_callback(self._on_node)  # kept referenced: C holds it

    def _on_node(self, tensor: Any, ask: bool, user_data: Any) -> bool:
        if not self._wanted:
            return False
        name = self._lib.ggml_get_name(tensor)
        if name not in self._wanted:
            return False
        if ask:
            return True
        n = int(self._lib.ggml_nelements(tensor))
        if n % self.n_embd or int(self._lib.ggml_nbytes(tensor)) != 4 * n:
            self._error = f"{name.decode()}: {n} elements, not f32 columns of {self.n_embd}"
            return True
        column = np.empty(self.n_embd, dtype=np.float32)
        offset = 4 * (n - self.n_embd)  # the last token of this micro-batch
        self._lib.ggml_backend_tensor_get(tensor, column.ctypes.data, offset, 4 * self.n_embd)
        self._captured[name.decode()] = column  # a later micro-batch overwrites: the last one holds the last token
        return True

    @contextmanager
    def armed(self, names: Iterable[str]) -> Iterator[States]:
        """Capture ``names`` during the block; the dict it yields holds them afterwards."""
        self._captured = {}
        self._error = None
        self._wanted = frozenset(n.encode() for n in names)
        out: States = {}
        try:
            yield out
        finally:
            self._wanted = frozenset()
        if self._error:
            raise RuntimeError(f"hidden state capture failed: {self._error}")
        missing = [n for n in names if n not in self._captured]
        if missing:
            raise RuntimeError(f"hidden state capture saw no node named {', '.join(missing)}")
        out.update(self._captured)


_CONSTRUCT_LOCK = threading.Lock()


def llama_with_capture(**kwargs: Any) -> tuple[Any, StateCapture]:
    """A ``llama_cpp.Llama`` whose context carries a ``StateCapture``'s callback.

    ``Llama()`` builds its context parameters from ``llama_context_default_params()`` and offers no
    way to pass ``cb_eval``; the function is wrapped while the one ``Llama`` is constructed (under a
    lock), so the callback is in the parameters the context is created with."""
    from llama_cpp import Llama
    from llama_cpp import llama_cpp as lib

    capture = StateCapture()
    original = lib.llama_context_default_params

    def with_callback() -> Any:
        params = original()
        params.cb_eval = capture.callback
        params.cb_eval_user_data = None
        return params

    with _CONSTRUCT_LOCK:
        lib.llama_context_default_params = with_callback
        try:
            llama = Llama(**kwargs)
        finally:
            lib.llama_context_default_params = original
    capture.n_embd = int(llama.n_embd())
    return llama, capture
