"""Faults: a damaged assembled model file, a data directory that is missing,
not creatable or read-only, a damaged manifest, a vector store that fails under a running index.
(Chroma server stopped: tests/test_chroma_server.py; Ollama down or slow: tests/test_ollama.py;
killed ingest: tests/test_index.py; killed manifest transaction: tests/test_manifest.py.)

The model tests use the fast 0.5B model (491 MB) assembled into a temporary cache.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rag.corpus import load_corpus
from rag.errors import BackendUnavailableError, DataDirError
from rag.index import SentenceIndex, manifest_path
from rag.llm import gguf as models
from rag.llm.gguf import GGUF_MODELS, ensure_gguf

from .conftest import FAST_MODEL, ROOT, index_folder, make_settings
from .index_corpus import ARTICLES, write_corpus

SPEC = GGUF_MODELS[FAST_MODEL]


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(8 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def flip_bytes(path: Path, offset: int, n: int = 4096) -> None:
    """Corrupt ``n`` bytes in place (same size, same inode)."""
    with path.open("r+b") as fh:
        fh.seek(offset)
        block = fh.read(n)
        fh.seek(offset)
        fh.write(bytes(b ^ 0xFF for b in block))


@pytest.fixture(scope="module")
def model_cache(tmp_path_factory) -> Path:
    """A private model cache with the 0.5B model assembled from its packaged parts."""
    cache = tmp_path_factory.mktemp("model_cache")
    path = ensure_gguf(FAST_MODEL, cache)
    assert path == cache / SPEC.filename
    return cache


@pytest.fixture()
def good_model(model_cache) -> Path:
    """The assembled model, verified by a full hash before each test (a previous test may have damaged it)."""
    return ensure_gguf(FAST_MODEL, model_cache, full_check=True)


def stamp_of(path: Path) -> dict:
    return json.loads(path.with_suffix(path.suffix + ".verified").read_text())


def assert_pristine(path: Path) -> None:
    assert path.stat().st_size == SPEC.size
    assert sha256(path) == SPEC.sha256
    st = path.stat()
    assert stamp_of(path) == {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "ino": st.st_ino, "sha256": SPEC.sha256}


def test_assembled_model_matches_pinned_hash(good_model):
    assert_pristine(good_model)
    assert not list(good_model.parent.glob("*.partial"))


def test_truncated_model_is_detected_and_rebuilt(good_model):
    os.truncate(good_model, SPEC.size // 3)
    path = ensure_gguf(FAST_MODEL, good_model.parent)
    assert path == good_model
    assert_pristine(path)


def test_corrupted_model_same_size_is_detected_and_rebuilt(good_model):
    """Bytes flipped in place (size and inode kept, mtime moves as with any write); a stale
    ``.partial`` left by an assembly killed earlier is overwritten, not trusted."""
    flip_bytes(good_model, SPEC.size // 2)
    assert good_model.stat().st_size == SPEC.size
    partial = good_model.with_suffix(".partial")
    partial.write_bytes(b"left over from a killed assembly")
    path = ensure_gguf(FAST_MODEL, good_model.parent)
    assert_pristine(path)
    assert not partial.exists()


def test_corruption_that_restores_mtime_needs_full_check(good_model):
    """The documented trade-off: a verified stamp (size, mtime_ns, inode, sha256) spares hashing
    the file on every start, so damage that keeps size, inode *and* mtime (bit rot, or an editor
    that restores the timestamp) passes the default check. ``full_check`` (``kutip models
    --verify``) re-hashes, detects it and rebuilds."""
    before = good_model.stat()
    flip_bytes(good_model, 4096 * 1000)
    os.utime(good_model, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = good_model.stat()
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == (before.st_size, before.st_mtime_ns, before.st_ino)

    trusted = ensure_gguf(FAST_MODEL, good_model.parent)  # default: stamp matches, no re-hash
    assert sha256(trusted) != SPEC.sha256  # honest: the default check does not see this damage

    rebuilt = ensure_gguf(FAST_MODEL, good_model.parent, full_check=True)
    assert_pristine(rebuilt)


def test_good_model_without_stamp_is_rehashed_not_rebuilt(good_model):
    stamp = good_model.with_suffix(good_model.suffix + ".verified")
    inode, mtime = good_model.stat().st_ino, good_model.stat().st_mtime_ns
    stamp.write_text("{not json")  # a damaged stamp is the same as none
    ensure_gguf(FAST_MODEL, good_model.parent)
    assert (good_model.stat().st_ino, good_model.stat().st_mtime_ns) == (inode, mtime)  # not re-assembled
    assert_pristine(good_model)


@pytest.mark.fast
def test_kutip_models_verify_forces_a_full_check(monkeypatch, tmp_path, capsys):
    """``kutip models --verify`` passes ``full_check=True`` for every model (the 1.5B is not
    assembled here: the call is recorded instead)."""
    calls = []

    def fake(name, cache, *, full_check=False):
        calls.append((name, full_check))
        return Path(cache) / GGUF_MODELS[name].filename

    monkeypatch.setattr(models, "ensure_gguf", fake)
    monkeypatch.setenv("KUTIP_MODEL_CACHE", str(tmp_path))
    from rag.cli import main

    assert main(["models", "--verify"]) == 0
    assert main(["models"]) == 0
    assert calls == [(n, True) for n in GGUF_MODELS] + [(n, False) for n in GGUF_MODELS]
    assert "sha256 verified" in capsys.readouterr().out


# ----------------------------------------------------------------------------- data directory


def run_cli(*args: str, env: dict[str, str], wrapper: list[str] | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **env}
    return subprocess.run(
        [*(wrapper or []), sys.executable, "-m", "rag.cli", *args],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def assert_one_clear_line(proc: subprocess.CompletedProcess, *needles: str) -> None:
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("kutip: "), proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_missing_data_dir_is_created(tmp_path):
    data = tmp_path / "does" / "not" / "exist"
    index = SentenceIndex(make_settings(data))
    assert data.is_dir() and (data / "chroma").is_dir()
    assert index.count() == 0


def test_data_dir_under_a_regular_file_is_a_clear_error(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(DataDirError, match=str(blocker / "data")):
        SentenceIndex(make_settings(blocker / "data"))
    corpus = write_corpus(tmp_path / "corpus")
    proc = run_cli("ingest", str(corpus), env={"KUTIP_DATA_DIR": str(blocker / "data")})
    assert_one_clear_line(proc, str(blocker / "data"), "Cannot create the data directory")


def test_data_dir_that_is_a_file_is_a_clear_error(tmp_path):
    blocker = tmp_path / "data"
    blocker.write_text("not a folder")
    with pytest.raises(DataDirError, match=str(blocker)):
        SentenceIndex(make_settings(blocker))
    assert blocker.read_text() == "not a folder"  # untouched


def _without_dac_override() -> list[str] | None:
    """A command prefix under which permission bits apply: none needed for a normal user; for
    root, ``setpriv`` dropping CAP_DAC_OVERRIDE/CAP_DAC_READ_SEARCH (if that works here)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if not setpriv:
        return None
    wrapper = [setpriv, "--bounding-set=-dac_override,-dac_read_search"]
    probe_dir = Path(os.environ.get("TMPDIR", "/tmp")) / f"kutip-probe-{os.getpid()}"
    probe_dir.mkdir(mode=0o500, exist_ok=True)
    try:
        probe = subprocess.run(
            [*wrapper, sys.executable, "-c", f"open({str(probe_dir / 'x')!r}, 'w')"], capture_output=True
        )
        return wrapper if probe.returncode != 0 and b"PermissionError" in probe.stderr else None
    finally:
        shutil.rmtree(probe_dir, ignore_errors=True)


@pytest.fixture()
def indexed_copy(tmp_path_factory, tmp_path) -> tuple[Path, Path]:
    """A data dir holding the made-up corpus of tests/index_corpus.py, and that corpus folder."""
    settings, _, folder = index_folder(tmp_path_factory, ARTICLES)
    target = tmp_path / "data"
    shutil.copytree(settings.data_dir, target)
    return target, folder


def test_read_only_data_dir_is_a_clear_error_and_loses_nothing(indexed_copy):
    """An existing index whose folder became read-only (chmod 0o500): ``kutip ingest`` and
    ``kutip ask`` stop with exit code 2 and one line naming the folder; the index is intact."""
    wrapper = _without_dac_override()
    if wrapper is None:
        pytest.skip("running as root without a way to drop CAP_DAC_OVERRIDE: chmod does not block root's writes")
    data, corpus = indexed_copy
    count = SentenceIndex(make_settings(data)).count()
    before = sorted(p.relative_to(data) for p in data.rglob("*"))
    data.chmod(0o500)
    try:
        env = {"KUTIP_DATA_DIR": str(data), "KUTIP_CORPUS_DIR": str(corpus)}
        for args in (["ingest", str(corpus)], ["ask", "Berapa ton gabah yang dipanen petani Karawang?"]):
            proc = run_cli(*args, env=env, wrapper=wrapper)
            assert_one_clear_line(proc, str(data), "not writable", "KUTIP_DATA_DIR")
        if not wrapper:  # permissions apply in this process too
            with pytest.raises(DataDirError, match="not writable"):
                SentenceIndex(make_settings(data))
    finally:
        data.chmod(0o755)
    assert sorted(p.relative_to(data) for p in data.rglob("*")) == before
    assert count == sum(len(a.sentences) for a in load_corpus(corpus))
    assert SentenceIndex(make_settings(data)).count() == count


def test_damaged_manifest_is_a_clear_error_and_recoverable(indexed_copy):
    """A manifest file overwritten with garbage: opening the index says which file and what to do
    (``kutip ingest`` exits 2 with one line); moved away, the next ingest writes every article again."""
    data, corpus = indexed_copy
    settings = make_settings(data, corpus_dir=corpus)
    path = manifest_path(settings)
    path.write_bytes(b"\x00garbage, not sqlite\x00" * 200)
    with pytest.raises(DataDirError, match="move it away"):
        SentenceIndex(settings)
    proc = run_cli("ingest", str(corpus), env={"KUTIP_DATA_DIR": str(data)})
    assert_one_clear_line(proc, str(path), "kutip ingest")
    path.rename(path.with_name("damaged.sqlite3"))
    index = SentenceIndex(settings)
    report = index.ingest(load_corpus(corpus))
    assert len(report.added) == len(ARTICLES) and not report.skipped
    ids = index.sentences.get(include=[])["ids"]
    assert len(ids) == len(set(ids)) == index.count() == sum(len(a.sentences) for a in load_corpus(corpus))


def test_failing_vector_store_is_a_clear_error_even_with_nothing_to_write(indexed_copy, monkeypatch):
    """The embedded Chroma failing under a running index (a disk error, say): ingest and reads raise
    ``BackendUnavailableError`` naming the store, also when every article is unchanged (the
    manifest alone, in sqlite, would let an ingest 'succeed' against a dead store)."""
    data, corpus = indexed_copy
    index = SentenceIndex(make_settings(data, corpus_dir=corpus))

    def broken(*args, **kwargs):
        raise OSError("disk I/O error")

    for name in ("count", "get", "query"):
        monkeypatch.setattr(index.sentences, name, broken)
    vector = index.embedder.query("gabah")
    for attempt in (
        lambda: index.ingest(load_corpus(corpus)),
        index.count,
        lambda: index.dense(vector, 3),
        lambda: index.article_sentences(load_corpus(corpus)[0].id),
    ):
        with pytest.raises(BackendUnavailableError, match="disk I/O error") as info:
            attempt()
        assert str(index.settings.chroma_dir) in str(info.value)
