"""A stand-in for `python3` and for the virtual environment's `bin/python`, for tests of scripts/*.sh.

It answers the calls the scripts make (venv creation, pip, import probes, `-m` tools) from a state folder
($FAKE_STATE) instead of installing anything, and logs each call as one JSON line in $FAKE_STATE/calls.jsonl:
{"role": "base" | "venv", "args": [...]}. Knobs (files in $FAKE_STATE): `no-ensurepip` (venv has no pip
until apt installs python3-venv), `no-local-torch` (the CPU torch is only on PyTorch's index),
`no-torch-index` (nor there).
"""

import json
import os
import shutil
import sys
from pathlib import Path

STATE = Path(os.environ["FAKE_STATE"])
ME = Path(sys.argv[0])
IN_VENV = ME.parent.name == "bin" and (ME.parent.parent / "pyvenv.cfg").exists()
VENV = ME.parent.parent if IN_VENV else None
ARGS = sys.argv[1:]


def log() -> None:
    with (STATE / "calls.jsonl").open("a", encoding="utf-8") as handle:
        handle.write(json.dumps({"role": "venv" if IN_VENV else "base", "args": ARGS}) + "\n")


def installed() -> set[str]:
    path = VENV / "fake-installed" if VENV else None
    return set(path.read_text().split()) if path and path.exists() else set()


def install(names: set[str]) -> None:
    assert VENV is not None
    (VENV / "fake-installed").write_text(" ".join(sorted(installed() | names)))


def run_code(code: str) -> int:
    if "sys.executable" in code:
        print(os.environ.get("FAKE_BASE_ID", "/usr/bin/python3 3.11.2"))
    elif "version_info[0]" in code:
        print("3.11")
    elif "sys.version.split" in code:
        print("3.11.2")
    elif "sys.exit(sys.version_info" in code:
        return 0
    elif code.startswith("import "):
        wanted = {m.strip() for m in code[len("import ") :].split(",")}
        return 0 if IN_VENV and wanted <= installed() else 1
    return 0


def make_venv(target: Path) -> int:
    (target / "bin").mkdir(parents=True, exist_ok=True)
    (target / "pyvenv.cfg").write_text("home = /usr/bin\n")
    python = target / "bin" / "python"
    shutil.copy(ME, python)
    python.chmod(0o755)
    if (STATE / "no-ensurepip").exists() and not (STATE / "apt-python3-venv").exists():
        print("The virtual environment was not created successfully because ensurepip is not available.")
        return 1
    (target / "fake-pip").touch()
    return 0


def pip(args: list[str]) -> int:
    assert VENV is not None
    if args[:1] == ["--version"]:
        return 0 if (VENV / "fake-pip").exists() else 1
    if args[:1] != ["install"]:
        return 0
    names: set[str] = set()
    for arg in args[1:]:
        if arg.startswith("torch"):
            offline = (STATE / "no-torch-index").exists()
            if (STATE / "no-local-torch").exists() and ("--index-url" not in args or offline):
                print("ERROR: No matching distribution found for " + arg, file=sys.stderr)
                return 1
            names.add("torch")
        elif arg == ".":
            names |= {"config", "uvicorn"}
        elif arg == ".[dev]":
            names |= {"config", "uvicorn", "pytest"}
    install(names)
    return 0


def main() -> int:
    log()
    if ARGS[:1] == ["-I"]:
        ARGS.pop(0)
    if ARGS[:1] == ["-c"]:
        return run_code(ARGS[1])
    if ARGS[:2] == ["-m", "venv"]:
        return make_venv(Path(ARGS[2]))
    if ARGS[:2] == ["-m", "pip"]:
        return pip(ARGS[2:])
    if ARGS[:3] == ["-m", "policyqa.cli", "build"] and "--index" in ARGS:
        index = Path(ARGS[ARGS.index("--index") + 1])
        index.mkdir(parents=True)
        (index / "manifest.json").write_text("{}")
    return int(os.environ.get("FAKE_EXIT_" + ARGS[1].replace(".", "_"), "0")) if ARGS[:1] == ["-m"] else 0


if __name__ == "__main__":
    sys.exit(main())
