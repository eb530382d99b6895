"""A real Datastar v1 browser bundle for the browser tests and benchmark, from a registry package.

    python scripts/datastar_bundle.py [cache-dir]      # prints the bundle's path

The CDN the generated pages name is not reachable here, but PyPI is: the `starhtml` wheel ships Datastar
v1.0.1 as one self-contained module (`starhtml/static/js/datastar-core.js`). The wheel is downloaded once
into the cache directory (default: .forge/cache in this checkout) and the file checked against its hash,
so every run drives the same client. The wheel need not be importable: only the file is taken from it.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "starhtml==0.7.0"
MEMBER = "starhtml/static/js/datastar-core.js"
SHA256 = "31c8c9efb895beadeba5f73407c3ca60201dee321c5dea56c182817b475bde9f"
DEFAULT_CACHE = ROOT / ".forge" / "cache"


def datastar_bundle(cache: Path = DEFAULT_CACHE) -> Path:
    """The bundle's path in `cache`, downloading the wheel when it is not there yet."""
    bundle = cache / f"datastar-{SHA256[:12]}.js"
    if bundle.is_file() and _digest(bundle.read_bytes()) == SHA256:
        return bundle
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        download = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check"]
        only_wheel = ["--no-deps", "--only-binary=:all:", "--python-version", "3.12", "--dest", tmp, PACKAGE]
        done = subprocess.run([*download, *only_wheel], capture_output=True, text=True, check=False)
        if done.returncode:
            raise RuntimeError(f"pip download {PACKAGE} failed:\n{done.stdout}\n{done.stderr}")
        (wheel,) = Path(tmp).glob("*.whl")
        with zipfile.ZipFile(wheel) as archive:
            content = archive.read(MEMBER)
    if _digest(content) != SHA256:
        raise RuntimeError(f"{MEMBER} in {PACKAGE} is not the Datastar v1.0.1 build this checkout expects")
    bundle.write_bytes(content)
    return bundle


def _digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


if __name__ == "__main__":
    print(datastar_bundle(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_CACHE))
