"""All of kutip's settings in one place: env vars ``KUTIP_*`` and an optional ``kutip.toml``.

Precedence (highest first): explicit keyword arguments, environment variables, the TOML
file (``KUTIP_CONFIG`` or ``kutip.toml`` in the working directory), then the defaults here.
Thresholds carry the value measured by ``scripts/tune.py`` on the dev split of
``eval/questions.yaml``; re-run it when the embedding model or prompts change.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

PROJECT_ROOT = Path(__file__).resolve().parent.parent

LlmName = Literal["qwen2.5-coder-1.5b", "qwen2.5-coder-0.5b"]


def _toml_path() -> Path:
    return Path(os.environ.get("KUTIP_CONFIG", "kutip.toml"))


class Settings(BaseSettings):
    """Every knob kutip has. Read with ``Settings()``; override per call with ``Settings(top_k=5)``."""

    model_config = SettingsConfigDict(env_prefix="KUTIP_", extra="ignore", validate_default=True)

    # --- where things live
    data_dir: Path = Field(PROJECT_ROOT / ".kutip", description="Index, BM25 and caches.")
    corpus_dir: Path = Field(PROJECT_ROOT / "seeds", description="Folder of .txt/.md articles.")
    model_cache: Path = Field(
        Path(os.environ.get("XDG_CACHE_HOME", str(Path.home() / ".cache"))) / "kutip" / "models",
        description="Where packaged GGUF parts are assembled once.",
    )
    prompts_dir: Path = Field(PROJECT_ROOT / "prompts")

    # --- models
    embedding_model: Literal["multilingual-e5-small-q4"] = "multilingual-e5-small-q4"
    embed_text: Literal["sentence", "title", "title+previous"] = Field(
        "sentence", description="What each sentence's vector is computed on (measured: see rag.index.embedding_text)."
    )
    llm: LlmName = "qwen2.5-coder-1.5b"
    backend: Literal["llamacpp", "ollama"] = "llamacpp"
    threads: int = Field(2, ge=1, description="llama.cpp threads.")
    context_window: int = Field(4096, ge=512)
    flash_attn: bool = Field(True, description="llama.cpp flash attention (measured on par or faster for prompts here).")
    ubatch: int = Field(128, ge=16, le=2048, description="llama.cpp micro-batch for prompt processing (128 measured on par or faster than 512).")
    max_new_tokens: int = Field(200, ge=16)
    temperature: float = Field(0.0, ge=0.0, le=2.0, description="0 = greedy: reproducible answers.")
    resamples: int = Field(
        0, ge=0, le=5,
        description="When the citation check finds no claim of the answer supported, sample the model again up to this many times (seeds 1, 2, …) and keep a draw that passes every check (see resample_agree). Off: on dev (1.5B) 3 draws, 2 agreeing, took fact recall 0.654 -> 0.692, but on the held-out test split it turned one wrong abstention and one right abstention into wrong answers (eval/results/resample/).",
    )
    resample_temperature: float = Field(0.7, ge=0.0, le=2.0, description="Sampling temperature of those retries.")
    resample_agree: int = Field(2, ge=1, le=5, description="How many retries must pass the checks citing a common sentence before one is kept.")

    # --- Ollama (remote or local server)
    ollama_url: str = "http://127.0.0.1:11434"
    ollama_model: str = "qwen2.5:1.5b"
    ollama_timeout_s: float = Field(60.0, gt=0)

    # --- Chroma
    chroma_url: str = Field("", description="Empty = embedded PersistentClient under data_dir.")
    collection: str = "kutip_sentences"

    # --- retrieval and answering
    top_k: int = Field(
        3, ge=1, le=50, description="Sentences shown to the model (dev: 3 and 4 find the same gold sentences; each costs ~70 prompt tokens)."
    )
    candidates: int = Field(30, ge=5, description="Candidates fetched from each retriever before fusion.")
    window: int = Field(0, ge=0, le=3, description="Neighbouring sentences shown as context around a hit.")
    figure_depth: int = Field(
        7, ge=0, le=50, description="How many sentences below top_k a how-many question searches for a different figure for the same thing, shown too (0 = off; dev: fact recall 0.615 -> 0.654 with the answer checks)."
    )
    by_part: bool = Field(
        False, description="A question that asks two things also gets the best sentence for each part on its own (dev: +1 gold citation, -1 fact, -1 citation: off)."
    )
    rrf_k: int = 60
    bm25_weight_id: float = Field(0.5, ge=0, description="Weight of BM25 in fusion for Indonesian questions.")
    bm25_weight_en: float = Field(0.0, ge=0, description="Weight of BM25 in fusion for English questions.")
    abstain_threshold: float = Field(
        0.817, description="Top dense cosine below which kutip abstains without calling the model."
    )
    support_threshold: float = Field(
        0.80, description="Claim-to-sentence cosine at which a sentence is taken to support a claim."
    )
    support_margin: float | None = Field(
        0.02, description="A cited sentence must be within this cosine of the closest shown sentence that could state the claim."
    )
    max_question_chars: int = Field(2000, ge=10)
    max_upload_bytes: int = Field(2_000_000, ge=1000)

    # --- UI
    ui_host: str = "127.0.0.1"
    ui_port: int = 7860
    ui_username: str = ""
    ui_password: str = ""

    @field_validator("data_dir", "corpus_dir", "model_cache", "prompts_dir", mode="after")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file=_toml_path()))

    @property
    def chroma_dir(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def bm25_dir(self) -> Path:
        return self.data_dir / "bm25"
