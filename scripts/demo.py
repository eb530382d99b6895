"""Render the template's default answers into a demo directory, as `copier copy` would for a user.

Re-rendering replaces generated files and keeps the demo's database (.forge/) so `make demo` restarts fast.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import copier

ROOT = Path(__file__).resolve().parent.parent


def main(target: str) -> int:
    dst = Path(target).resolve()
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp)
        shutil.copy(ROOT / "copier.yml", src)
        shutil.copytree(ROOT / "template", src / "template")
        copier.run_copy(str(src), dst, defaults=True, overwrite=True, quiet=True, unsafe=False)
    if not (dst / ".git").exists():
        subprocess.run(["git", "init", "-q", "-b", "main"], cwd=dst, check=True)
    print(f"demo project rendered in {dst}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "demo"))
