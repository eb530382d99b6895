"""Regenerate template/uv.lock.jinja: lock a rendered project, then make its own entry a template.

By default the current lock seeds the new one, so only what pyproject.toml.jinja changed moves;
`--upgrade` moves every package to its newest allowed version.

uv sorts packages by name, so the project's entry would move with the slug; uv accepts it anywhere,
so the template keeps it last and substitutes the name. Run after changing template/pyproject.toml.jinja
(`make relock`); the template tests fail (`uv lock --locked`) when this was forgotten.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import copier

ROOT = Path(__file__).resolve().parent.parent
SLUG = "forge_lock_probe"
SEPARATOR = "\n[[package]]\n"


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "src", Path(tmp) / "dst"
        src.mkdir()
        shutil.copy(ROOT / "copier.yml", src)
        shutil.copytree(ROOT / "template", src / "template", ignore=shutil.ignore_patterns("uv.lock.jinja"))
        copier.run_copy(str(src), dst, data={"project_slug": SLUG}, defaults=True, quiet=True)
        current = (ROOT / "template" / "uv.lock.jinja").read_text()
        (dst / "uv.lock").write_text(current.replace("<< project_slug | replace('_', '-') >>", SLUG.replace("_", "-")))
        subprocess.run(["uv", "lock", *(["--upgrade"] if "--upgrade" in sys.argv else [])], cwd=dst, check=True)
        head, *packages = (dst / "uv.lock").read_text().split(SEPARATOR)
    name = SLUG.replace("_", "-")
    own = [p for p in packages if p.startswith(f'name = "{name}"\n')]
    if len(own) != 1:
        print(f"expected one entry for {name} in uv.lock", file=sys.stderr)
        return 1
    packages.remove(own[0])
    packages.append(own[0].replace(f'name = "{name}"', "name = \"<< project_slug | replace('_', '-') >>\"", 1))
    text = SEPARATOR.join([head, *packages])
    if "<<" in text.replace("<< project_slug | replace('_', '-') >>", "") or "<%" in text:
        print("uv.lock contains a Copier delimiter", file=sys.stderr)
        return 1
    (ROOT / "template" / "uv.lock.jinja").write_text(text)
    print(f"wrote template/uv.lock.jinja ({len(packages)} packages)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
