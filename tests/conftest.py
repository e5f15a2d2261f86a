"""Shared fixtures: real Chroma, real embedding model, real llama.cpp model (the fast 0.5B)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from rag.corpus import Article, load_corpus
from rag.index import SentenceIndex
from rag.packaged_models import GGUF_MODELS
from rag.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
FIXTURE_CORPUS = ROOT / "tests" / "fixtures" / "corpus"  # made-up articles: a corpus no test has to know by heart
FAST_MODEL = "qwen2.5-coder-0.5b"
# Questions about the fixture corpus that the 0.5B answers with the sentence that states the fact.
LOCOMOTIVES = "Berapa lokomotif uap yang dipamerkan museum kereta api Serang Baru?"
FERRIES = "Berapa kapal feri baru yang akan melayani penyeberangan Selat Mirah?"
# A model kutip cannot name (one behind an OpenAI-compatible server) gets the default model's
# P(none) threshold; a test that serves the 0.5B that way gives it the 0.5B's own.
FAST_NONE_THRESHOLD = GGUF_MODELS[FAST_MODEL].none_threshold


def sentence_id(articles: list[Article], text: str) -> str:
    """The ``article_id:index`` of the sentence ``text`` as ``rag.corpus`` split ``articles``."""
    return next(f"{a.id}:{s.index}" for a in articles for s in a.sentences if s.text == text)


def make_settings(data_dir: Path, **kwargs) -> Settings:
    return Settings(data_dir=data_dir, corpus_dir=kwargs.pop("corpus_dir", SEEDS), **kwargs)


def index_folder(tmp_path_factory, files: dict[str, str]) -> tuple[Settings, SentenceIndex, Path]:
    """A corpus folder of ``files`` (name -> text) indexed in a data folder of its own."""
    folder = tmp_path_factory.mktemp("corpus")
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    settings = make_settings(tmp_path_factory.mktemp("data"), corpus_dir=folder)
    index = SentenceIndex(settings)
    index.ingest(load_corpus(folder))
    return settings, index, folder


def indexed_once(data_dir: Path, corpus_dir: Path, articles: list[Article]) -> Path:
    """``data_dir`` with ``articles`` (read from ``corpus_dir``) indexed in it."""
    SentenceIndex(make_settings(data_dir, corpus_dir=corpus_dir)).ingest(articles)
    return data_dir


@pytest.fixture()
def scratch_settings(tmp_path) -> Settings:
    """Default settings over empty scratch folders: for the fast layer, which builds no index."""
    return Settings(data_dir=tmp_path / "data", corpus_dir=tmp_path / "corpus")


@pytest.fixture(scope="session")
def fixture_articles() -> list[Article]:
    """The made-up fixture corpus as ``rag.corpus`` reads it: counts and ids come from here."""
    return load_corpus(FIXTURE_CORPUS)


@pytest.fixture(scope="session")
def fixture_dir(tmp_path_factory, fixture_articles) -> Path:
    """A data dir with the made-up fixture corpus indexed once per session (copy it before writing
    to it): the index the UI, flow and backend tests answer from, so that they test kutip, not the
    seeds."""
    return indexed_once(tmp_path_factory.mktemp("fixture-index"), FIXTURE_CORPUS, fixture_articles)


@pytest.fixture()
def fixture_copy(fixture_dir, tmp_path) -> Path:
    """A private, writable copy of the fixture index."""
    target = tmp_path / "data"
    shutil.copytree(fixture_dir, target)
    return target


@pytest.fixture(scope="session")
def fixture_settings(fixture_dir) -> Settings:
    """Settings for answering with the fast model over the fixture index (read-only use)."""
    return make_settings(fixture_dir, corpus_dir=FIXTURE_CORPUS, llm=FAST_MODEL)


@pytest.fixture(scope="session")
def qa_fixture(fixture_settings):
    from rag.qa import QA

    return QA(fixture_settings)


@pytest.fixture(scope="session")
def seed_articles():
    return load_corpus(SEEDS)


@pytest.fixture(scope="session")
def seeded_dir(tmp_path_factory, seed_articles) -> Path:
    """A data dir with the seeds indexed once per session (copy it before writing to it)."""
    return indexed_once(tmp_path_factory.mktemp("seeded"), SEEDS, seed_articles)


@pytest.fixture(scope="session")
def fast_settings(seeded_dir) -> Settings:
    """Settings for answering with the fast model over the seeded index (read-only use)."""
    return make_settings(seeded_dir, llm=FAST_MODEL)


@pytest.fixture(scope="session")
def qa_fast(fast_settings):
    from rag.qa import QA

    return QA(fast_settings)
