"""Copier migration to 0.2.0 (run before the update, in the project): the user's files leave `app/`.

0.2.0 keeps generated code in `<slug>/app/` only and gives the user owned files beside it. This moves
or rewrites what a 0.1 project holds, so the update loses nothing:

- `<slug>/app/templates/live/<resource>.row.html` (yours) moves to `<slug>/templates/`, and the `live/`
  prefix of Forge's template names (gone in 0.2.0) is dropped from it;
- your workers and `caller.py` import `<slug>.app.public` instead of `<slug>.app.jobs` / `.app.auth`;
- `Makefile`, `forge.toml`, `<slug>/__init__.py`, `<slug>/__main__.py`, `tests/conftest.py` and the
  scaffolded `tests/jobs/test_<kind>.py` become yours in 0.2.0. Where a file is still exactly what 0.1 rendered it is removed, and the update writes
  the 0.2.0 version. Where you changed it, it stays: the Makefile gets Forge's targets from the new
  `include` (your own lines are kept, the whole old file is saved beside it), the other files get their
  moved imports rewritten, and a line below says what to check.

Every move is staged with git, because Copier reads the project's git index after this script.
Runs with Copier's own Python (jinja2 and PyYAML are Copier's dependencies).
"""

from __future__ import annotations

import difflib
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import jinja2
import yaml

HERE = Path(__file__).resolve().parent
OLD = HERE / "v0_1"
ENVOPS: dict[str, Any] = {
    "variable_start_string": "<<",
    "variable_end_string": ">>",
    "block_start_string": "<%",
    "block_end_string": "%>",
    "comment_start_string": "<#",
    "comment_end_string": "#>",
    "keep_trailing_newline": True,
}
# Imports of 0.1 names, as 0.2.0 spells them (applied to files the user changed).
RENAMES = [
    (r"\.app\.jobs\.hooks\b", ".app.jobqueue.hooks"),
    (r"\.app\.jobs\.registry\b", ".app.jobqueue.registry"),
    (r"\.app\.jobs\.testing\b", ".app.testing.jobs"),
    (r"\.app\.jobs\b", ".app.public"),
    (r"\.app\.auth\b", ".app.public"),
    (r"\.app\.cli import main\b", ".app.public import command_line as main"),
    (r"\.app\.cli import migrate, with_database", ".app.migrating import migrate"),
    (r"\.app\.cli import", ".app.migrating import"),
    (r"from \.\.samples import", "from {slug}.app.testing.samples import"),
    (r"from \.samples import", "from {slug}.app.testing.samples import"),
]


def git(*args: str) -> None:
    subprocess.run(["git", *args], check=True, capture_output=True)


def note(message: str) -> None:
    print(f"forge 0.2.0 migration: {message}", file=sys.stderr)


def render_old(name: str, answers: dict[str, Any], **extra: Any) -> str:
    env = jinja2.Environment(**ENVOPS)
    return env.from_string((OLD / name).read_text(encoding="utf-8")).render(**answers, **extra)


def rewrite_imports(path: Path, slug: str) -> bool:
    text = path.read_text(encoding="utf-8")
    new = text
    for pattern, replacement in RENAMES:
        new = re.sub(pattern, replacement.format(slug=slug), new)
    if new != text:
        path.write_text(new, encoding="utf-8")
        git("add", str(path))
        return True
    return False


def move_row_templates(slug: str) -> None:
    old_dir, new_dir = Path(slug, "app", "templates", "live"), Path(slug, "templates")
    for path in sorted(old_dir.glob("*.row.html")):
        target = new_dir / path.name
        if target.exists():
            note(f"{path} and {target} both exist; kept both, the page now uses {target}")
            continue
        new_dir.mkdir(parents=True, exist_ok=True)
        git("mv", str(path), str(target))
        text = target.read_text(encoding="utf-8")
        target.write_text(re.sub(r"""(["'])live/(base|page|row|new)\.html\1""", r"\1\2.html\1", text), encoding="utf-8")
        git("add", str(target))
        note(f"moved {path} to {target}")


def replace_if_untouched(path: Path, rendered: str) -> bool:
    """Remove a file still as 0.1 rendered it, so the update writes the 0.2.0 version in its place."""
    if path.exists() and path.read_text(encoding="utf-8") == rendered:
        git("rm", "-q", str(path))
        return True
    return False


def own_makefile(slug: str, old: str) -> None:
    path = Path("Makefile")
    if not path.exists() or replace_if_untouched(path, old):
        return
    mine = path.read_text(encoding="utf-8").splitlines(keepends=True)
    matcher = difflib.SequenceMatcher(a=old.splitlines(keepends=True), b=mine, autojunk=False)
    added = [
        line for tag, _, _, j1, j2 in matcher.get_opcodes() if tag in ("insert", "replace") for line in mine[j1:j2]
    ]
    saved = Path("Makefile.before-0.2")
    saved.write_text("".join(mine), encoding="utf-8")
    path.write_text(
        "# Your Makefile. Yours to edit: `copier update` never touches this file.\n"
        f"# Forge's targets come from {slug}/app/forge.mk. Your lines from the 0.1 Makefile follow;\n"
        f"# the whole 0.1 file is in {saved} (delete it once you have checked).\n"
        f"include {slug}/app/forge.mk\n\n" + "".join(added),
        encoding="utf-8",
    )
    git("add", str(path), str(saved))
    note(f"Makefile: Forge's targets now come from {slug}/app/forge.mk; your changes were kept, see {saved}")


def main() -> int:
    answers = yaml.safe_load(Path(".copier-answers.yml").read_text(encoding="utf-8"))
    slug = answers["project_slug"]
    move_row_templates(slug)
    for path in [Path(slug, "caller.py"), *sorted(Path(slug, "jobs").glob("*.py"))]:
        if path.exists() and rewrite_imports(path, slug):
            note(f"{path} now imports {slug}.app.public")
    for path in sorted(Path("tests", "jobs").glob("test_*.py")):
        kind = path.stem.removeprefix("test_")
        if not replace_if_untouched(path, render_old("test_job.py.jinja", answers, job={"kind": kind})):
            rewrite_imports(path, slug)
            note(
                f"{path} is yours and changed: its imports were moved; the 0.2.0 scaffold shows the "
                "simpler `run_job` fixture"
            )
    conftest = Path("tests", "conftest.py")
    if conftest.exists() and not replace_if_untouched(conftest, render_old("conftest.py.jinja", answers)):
        rewrite_imports(conftest, slug)
        note(
            f"{conftest} is yours now; Forge's fixtures come from the {slug}.app.testing.fixtures plugin, "
            "so drop the ones you did not write"
        )
    for name in ("__init__.py", "__main__.py"):
        path = Path(slug, name)
        if not replace_if_untouched(path, render_old(f"{name}.jinja", answers)) and path.exists():
            rewrite_imports(path, slug)
    forge_toml = Path("forge.toml")
    if forge_toml.exists() and not replace_if_untouched(forge_toml, render_old("forge.toml.jinja", answers)):
        note(
            "forge.toml is yours now and was kept as it is; defaults live in code, so keys you never "
            "changed may be removed from it"
        )
    own_makefile(slug, render_old("Makefile.jinja", answers))
    return 0


if __name__ == "__main__":
    sys.exit(main())
