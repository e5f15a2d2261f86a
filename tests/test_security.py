"""Security defaults: telemetry off, no network except the configured servers,
uploads limited in size and type, article ids that cannot name a path.

The upload widget itself (ui/uploads.py) is tested with the UI; this covers the core it relies on.
"""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rag.corpus import ARTICLE_SUFFIXES, article_id_for, corpus_files, load_article, load_corpus
from rag.errors import ArticleError
from rag.index import chroma_client

from .conftest import FIXTURE_CORPUS, make_settings
from .netaudit import run_audited

FACT = "Sebanyak 42 kapal feri baru akan melayani penyeberangan Selat Mirah pada tahun 2025."  # in FIXTURE_CORPUS


# ----------------------------------------------------------------------------- telemetry


def test_embedded_chroma_has_telemetry_off_even_when_env_asks_for_it(tmp_path, monkeypatch):
    monkeypatch.setenv("ANONYMIZED_TELEMETRY", "True")  # an explicit setting beats the environment
    client = chroma_client(make_settings(tmp_path))
    assert client.get_settings().anonymized_telemetry is False


def test_ui_turns_gradio_analytics_off_without_network(tmp_path):
    """Importing the UI (as ``kutip ui`` does) sets GRADIO_ANALYTICS_ENABLED=False before Gradio
    loads, and importing it contacts nobody."""
    code = textwrap.dedent(
        """
        import json, os
        import ui.app
        import gradio.analytics
        print(json.dumps([os.environ.get("GRADIO_ANALYTICS_ENABLED"), gradio.analytics.analytics_enabled()]))
        """
    )
    audit = run_audited(code, tmp_path, timeout=300)
    assert audit.proc.returncode == 0, audit.proc.stderr[-3000:]
    assert json.loads(audit.proc.stdout.strip().splitlines()[-1]) == ["False", False]
    assert audit.outside == [], audit.outside


# ----------------------------------------------------------------------------- no network


def test_ingest_and_retrieval_contact_nobody(tmp_path):
    """Embedded mode (the default): ingest the made-up fixture corpus and retrieve, in a fresh process whose every
    socket operation is recorded (audit hook, plus strace for native code when available)."""
    data = tmp_path / "data"
    code = textwrap.dedent(
        f"""
        from rag.corpus import load_corpus
        from rag.index import SentenceIndex
        from rag.retrieve import retrieve
        from rag.settings import Settings
        s = Settings(data_dir={str(data)!r}, corpus_dir={str(FIXTURE_CORPUS)!r})
        index = SentenceIndex(s)
        print(index.ingest(load_corpus(s.corpus_dir)).summary())
        found = retrieve(index, "How many new ferries will serve the Mirah Strait crossing in 2025?", s, top_k=3)
        print(repr([h.sentence.text for h in found.hits]))
        """
    )
    audit = run_audited(code, tmp_path)
    assert audit.proc.returncode == 0, audit.proc.stderr[-3000:]
    assert f"{len(load_corpus(FIXTURE_CORPUS))} added" in audit.proc.stdout and FACT in audit.proc.stdout
    assert audit.outside == [], audit.outside
    assert audit.connects == []  # embedded: not even a loopback connection
    if audit.native_targets is not None:
        assert audit.native_targets == [] or all(t in ("127.0.0.1", "::1") for t in audit.native_targets)


# ----------------------------------------------------------------------------- uploads (core side)


@pytest.mark.fast
def test_oversized_file_is_refused_before_parsing(tmp_path):
    path = tmp_path / "besar.txt"
    path.write_text("Kalimat berita yang panjang. " * 80_000, encoding="utf-8")  # 2.3 MB
    with pytest.raises(ArticleError, match=r"besar\.txt: too large \(2,320,000 bytes; limit 2,000,000\)"):
        load_article(path)
    with pytest.raises(ArticleError, match="limit 1,000"):
        load_article(path, max_bytes=1000)


@pytest.mark.fast
def test_only_known_formats_are_articles(tmp_path):
    for name in ("a.txt", "b.md", "C.TXT", "d.html", "e.pdf", "f.txt.exe", ".hidden.txt", "g", "h.docx"):
        (tmp_path / name).write_text("Isi berita. Kalimat kedua.", encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "i.md").write_text("Isi berita.", encoding="utf-8")
    listed = [p.relative_to(tmp_path).as_posix() for p in corpus_files(tmp_path)]
    assert sorted(listed) == sorted(["C.TXT", "a.txt", "b.md", "d.html", "e.pdf", "sub/i.md"])
    assert {".txt", ".md", ".html", ".pdf"} <= set(ARTICLE_SUFFIXES) and ".exe" not in ARTICLE_SUFFIXES


@pytest.mark.fast
@settings(max_examples=100, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(min_size=0, max_size=60))
def test_article_ids_can_never_name_a_path(name):
    """Any file name yields an id, never an error: ASCII letters, digits, '-' and '_' only."""
    article_id = article_id_for(Path(name + ".txt"))
    assert re.fullmatch(r"[A-Za-z0-9_-]+", article_id), article_id


@pytest.mark.fast
@pytest.mark.parametrize(
    "name, expected",
    [
        ("../../etc/passwd.txt", r"passwd"),  # only the file's own name counts, never the folders above it
        ("..\\..\\win.ini.txt", r"win-ini-[0-9a-f]{8}"),  # not a safe stem: a slug and a hash of the name
        ("a b.txt", r"a-b-[0-9a-f]{8}"),
        ("x;rm -rf.txt", r"x-rm-rf-[0-9a-f]{8}"),
        ("<script>.txt", r"script-[0-9a-f]{8}"),
    ],
)
def test_hostile_file_names(name, expected):
    assert re.fullmatch(expected, article_id_for(Path(name)))
