"""Index lifecycle: an interrupted or failed build leaves the served index untouched; a corrupt index is
refused at start-up with a message naming the problem."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from api.main import create_app
from config import Settings
from index.store import IndexLoadError, load_index
from tests.conftest import CORPUS_DIR, ROOT

ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}


def _fingerprint(index_dir: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(index_dir.iterdir())}


@pytest.fixture()
def served(served_index: Path) -> Path:
    return served_index


@pytest.fixture()
def corpus_copy(tmp_path: Path) -> Path:
    """The bundled corpus without one document, so a finished rebuild is told apart from the old index."""
    target = tmp_path / "corpus"
    shutil.copytree(CORPUS_DIR, target)
    (target / "guangxi-plan.txt").unlink()
    return target


def _start_build(corpus: Path, index_dir: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "policyqa.cli", "build", "--corpus", str(corpus), "--index", str(index_dir)],
        cwd=ROOT,
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_build_killed_mid_way_leaves_the_index_unchanged(served: Path, corpus_copy: Path) -> None:
    before = _fingerprint(served)
    build = _start_build(corpus_copy, served)
    assert build.stderr is not None
    seen = ""
    while "tokenise" not in seen:  # parsing done, index being built: kill it now
        chunk = build.stderr.read(1)
        assert chunk, f"build ended before tokenising: {seen[-500:]}"
        seen += chunk
    build.send_signal(signal.SIGKILL)
    assert build.wait(30) == -signal.SIGKILL
    assert _fingerprint(served) == before
    assert load_index(served, load_vectors=False).manifest["document_count"] == 5


def test_build_killed_while_saving_leaves_old_or_new_never_broken(served: Path, corpus_copy: Path) -> None:
    before = _fingerprint(served)
    build = _start_build(corpus_copy, served)
    staged_prefix = f"{served.name}.tmp-"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and build.poll() is None:
        if any(p.name.startswith(staged_prefix) for p in served.parent.iterdir()):
            build.send_signal(signal.SIGKILL)  # the new folder is being written next to the served one
            break
        time.sleep(0.001)
    build.wait(60)
    loaded = load_index(served, load_vectors=False)  # verifies every file against the manifest checksums
    if build.returncode == -signal.SIGKILL and loaded.manifest["document_count"] == 5:
        assert _fingerprint(served) == before
    else:  # the build got through the switch first: the new index is whole
        assert loaded.manifest["document_count"] == 4
    # The next build clears what the killed one left beside the index.
    rebuild = _start_build(corpus_copy, served)
    rebuild.communicate(timeout=180)
    assert rebuild.returncode == 0
    assert not [p.name for p in served.parent.iterdir() if p.name.startswith(staged_prefix)]


def test_bad_document_does_not_touch_the_served_index(served: Path, corpus_copy: Path) -> None:
    before = _fingerprint(served)
    (corpus_copy / "garbage.txt").write_bytes(b"\xff\xfe\x00\x81" + os.urandom(4096))
    build = _start_build(corpus_copy, served)
    build.communicate(timeout=180)
    assert build.returncode != 0
    assert _fingerprint(served) == before
    load_index(served, load_vectors=False)


def _damage(index_dir: Path, how: str) -> str:
    """Damage the index; return what the refusal message must name."""
    clauses = index_dir / "clauses.jsonl"
    if how == "flip_byte":
        data = bytearray(clauses.read_bytes())
        data[len(data) // 2] ^= 0x20
        clauses.write_bytes(bytes(data))
        return "checksum"
    if how == "truncate":
        clauses.write_bytes(clauses.read_bytes()[:-10])
        return "truncated"
    if how == "missing_file":
        (index_dir / "bm25.npz").unlink()
        return "bm25.npz"
    if how == "no_manifest":
        (index_dir / "manifest.json").unlink()
        return "manifest.json"
    manifest = index_dir / "manifest.json"
    manifest.write_text(
        manifest.read_text(encoding="utf-8").replace('"format_version": 1', '"format_version": 99')
    )
    return "format version"


@pytest.mark.parametrize("how", ["flip_byte", "truncate", "missing_file", "no_manifest", "format_version"])
def test_app_refuses_to_start_on_a_corrupt_index(served: Path, how: str) -> None:
    expected = _damage(served, how)
    with pytest.raises(IndexLoadError) as error:
        create_app(Settings(POLICYQA_INDEX=served, REDIS_URL=None))
    assert expected in str(error.value) and str(served) in str(error.value)


def test_serve_exits_with_the_message_on_a_corrupt_index(served: Path) -> None:
    _damage(served, "flip_byte")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    done = subprocess.run(
        [sys.executable, "-m", "policyqa.cli", "serve", "--index", str(served), "--port", str(port)],
        cwd=ROOT,
        env={**ENV, "REDIS_URL": ""},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert "clauses.jsonl" in done.stderr and "checksum" in done.stderr
