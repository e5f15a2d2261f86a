"""All of kutip's settings in one place: env vars ``KUTIP_*`` and an optional ``kutip.toml``.

Precedence (highest first): explicit keyword arguments, environment variables, the TOML
file (``KUTIP_CONFIG`` or ``kutip.toml`` in the working directory), then the defaults here.
Thresholds carry values tuned on public dev data (docs/p-none.md, docs/reading.md). How the
reading is done is not a setting but fixed behaviour (``rag.read.ReadingPolicy``), and each
packaged model's own P(none) threshold is kept with its spec (``rag.packaged_models``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

from .packaged_models import GGUF_MODELS

PROJECT_ROOT = Path(__file__).resolve().parent.parent

LlmName = Literal["qwen2.5-coder-1.5b", "qwen2.5-coder-0.5b"]

DEFAULT_LLM: LlmName = "qwen2.5-coder-1.5b"


def _toml_path() -> Path:
    return Path(os.environ.get("KUTIP_CONFIG", "kutip.toml"))


class PathSettings(BaseModel):
    """Where things live."""

    data_dir: Path = Field(PROJECT_ROOT / ".kutip", description="Index, BM25 and caches.")
    corpus_dir: Path = Field(PROJECT_ROOT / "seeds", description="Folder of articles (any format rag.readers reads).")
    model_cache: Path = Field(
        Path(os.environ.get("XDG_CACHE_HOME", str(Path.home() / ".cache"))) / "kutip" / "models",
        description="Where packaged GGUF parts are assembled once.",
    )
    prompts_dir: Path = Field(PROJECT_ROOT / "prompts")
    probes_dir: Path = Field(
        PROJECT_ROOT / "rag" / "probes", description="Trained answerability probes, one per model (kutip train)."
    )

    @field_validator("data_dir", "corpus_dir", "model_cache", "prompts_dir", "probes_dir", mode="after")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @property
    def chroma_dir(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def bm25_dir(self) -> Path:
        return self.data_dir / "bm25"


class ModelSettings(BaseModel):
    """Which model answers, through which backend, and the embedded llama.cpp's knobs."""

    llm: LlmName = DEFAULT_LLM
    backend: str = Field("llamacpp", description="An entry of rag.llm.BACKENDS: llamacpp (embedded), ollama, openai.")
    threads: int = Field(2, ge=1, description="llama.cpp threads.")
    context_window: int = Field(4096, ge=512)
    flash_attn: bool = Field(True, description="llama.cpp flash attention (measured: docs/speed.md).")
    ubatch: int = Field(128, ge=16, le=2048, description="llama.cpp micro-batch for prompt processing (docs/speed.md).")
    max_new_tokens: int = Field(200, ge=16)
    temperature: float = Field(0.0, ge=0.0, le=2.0, description="0 = greedy: reproducible answers.")


class OllamaSettings(BaseModel):
    """An Ollama server (remote or local)."""

    ollama_url: str = "http://127.0.0.1:11434"
    ollama_model: str = "qwen2.5:1.5b"
    ollama_timeout_s: float = Field(60.0, gt=0)


class OpenAISettings(BaseModel):
    """An OpenAI-compatible server (``KUTIP_BACKEND=openai``: llama-server, llama-cpp-python's server,
    vLLM, LM Studio). kutip sends ChatML prompts to ``/v1/completions`` and needs logprobs
    (docs/scaling.md)."""

    openai_base_url: str = Field("http://127.0.0.1:8080/v1", description="The server's OpenAI API root (…/v1).")
    openai_model: str = Field("", description="The model to ask for, as the server's /v1/models lists it.")
    openai_api_key: SecretStr = Field(SecretStr(""), description="Sent as 'Authorization: Bearer …' when set.")
    openai_timeout_s: float = Field(60.0, gt=0)


class ChromaSettings(BaseModel):
    """The dense store: embedded Chroma under data_dir, or a Chroma server."""

    chroma_url: str = Field("", description="Empty = embedded PersistentClient under data_dir.")
    collection: str = "kutip_sentences"


class RetrievalSettings(BaseModel):
    """What is retrieved and shown to the reading step."""

    top_k: int = Field(
        6, ge=1, le=20, description="Sentences retrieved and shown to the reading step (docs/reading.md)."
    )
    candidates: int = Field(30, ge=5, description="Candidates fetched from each retriever before fusion.")
    rrf_k: int = 60
    bm25_weight_id: float = Field(0.5, ge=0, description="Weight of BM25 in fusion for Indonesian questions.")
    bm25_weight_en: float = Field(0.0, ge=0, description="Weight of BM25 in fusion for English questions.")
    post_retrieval: list[str] = Field(
        ["antecedents"],
        description="Steps applied to the hits after retrieval, in order (rag.retrieve.POST_RETRIEVAL).",
    )
    read_at_least: int = Field(
        3, ge=1, description="near_best: the retrieved sentences always read, however far the rest fall behind."
    )
    read_margin: float = Field(
        0.04,
        ge=0,
        description="near_best: a sentence past read_at_least is read only when its cosine is within this "
        "of the best one (docs/speed.md: faster, and less accurate with the shipped probe).",
    )
    abstain_threshold: float = Field(
        0.80, description="Top dense cosine below which kutip abstains without reading (tuned on dev: docs/reading.md)."
    )


class ReadingSettings(BaseModel):
    """When kutip abstains after reading (values tuned on dev: docs/p-none.md). How the evidence is
    chosen is fixed behaviour, not a setting (``rag.read.ReadingPolicy``)."""

    none_threshold: float | None = Field(
        None,
        ge=0,
        le=1,
        description="P(none) at or above which kutip abstains; unset: the value tuned for the model (rag.packaged_models).",
    )
    probe_threshold: float | None = Field(
        None,
        ge=0,
        le=1,
        description="P(unanswerable) at or above which kutip abstains; unset: the shipped probe's own (rag.decide).",
    )


class LanguageSettings(BaseModel):
    """Where language packs are found (rag/languages/<code>/ are built in)."""

    language_packs: str = Field(
        "",
        description="Extra folders of language packs (<code>/words.toml, abstain.txt), separated by os.pathsep, searched before the built-in ones (read by rag.languages).",
    )


MAX_ARTICLE_BYTES = 2_000_000  # the largest file read as an article, unless max_upload_bytes says otherwise


class InputSettings(BaseModel):
    """Limits on what users send."""

    max_question_chars: int = Field(2000, ge=10)
    max_upload_bytes: int = Field(MAX_ARTICLE_BYTES, ge=1000)


class UISettings(BaseModel):
    """The Gradio app."""

    ui_host: str = "127.0.0.1"
    ui_port: int = 7860
    ui_username: str = ""
    ui_password: str = ""


class Settings(
    BaseSettings,
    PathSettings,
    ModelSettings,
    OllamaSettings,
    OpenAISettings,
    ChromaSettings,
    RetrievalSettings,
    ReadingSettings,
    LanguageSettings,
    InputSettings,
    UISettings,
):
    """Every knob kutip has, grouped by concern in the classes above (their fields keep flat
    ``KUTIP_*`` names). Read with ``Settings()``; override per call with ``Settings(top_k=5)``;
    a stage that needs one concern can take that class."""

    model_config = SettingsConfigDict(env_prefix="KUTIP_", extra="ignore", validate_default=True)

    @property
    def p_none_threshold(self) -> float:
        """The P(none) at which kutip abstains: ``none_threshold`` if set, else the packaged model's
        own (``GgufSpec.none_threshold``). A model behind Ollama or an OpenAI-compatible server has
        not been tuned and gets the default model's value."""
        if self.none_threshold is not None:
            return self.none_threshold
        return GGUF_MODELS[self.llm if self.backend == "llamacpp" else DEFAULT_LLM].none_threshold

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
