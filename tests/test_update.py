"""`copier update` lifecycle on real tagged template repos (the harness the jobs scenarios build on)."""

from __future__ import annotations

from pathlib import Path

from .forge_harness import conflicts, generate, git, release, template_repo, tree, update

SLUG_DIR = "template/<<project_slug>>"


def _v2(repo: Path) -> None:
    """A template release that changes a generated module and the generated make targets, and adds a file."""
    crud = repo / SLUG_DIR / "app" / "crud.py"
    crud.write_text(crud.read_text().replace("MAX_PAGE = 200", "MAX_PAGE = 500"))
    targets = repo / SLUG_DIR / "app" / "forge.mk.jinja"
    targets.write_text(targets.read_text().replace("## list the targets", "## list the make targets"))
    (repo / SLUG_DIR / "app" / "release_notes.py").write_text('"""Added in v2."""\n')


def test_update_of_an_untouched_project_equals_a_fresh_copy(tmp_path: Path) -> None:
    repo = template_repo(tmp_path / "forge")
    release(repo, "v2", _v2)
    project = generate(repo, tmp_path / "project", ref="v1")
    assert "MAX_PAGE = 200" in (project / "shop/app/crud.py").read_text()

    update(project, ref="v2")

    fresh = generate(repo, tmp_path / "fresh", ref="v2")
    assert conflicts(project) == []
    assert tree(project) == tree(fresh)
    assert "MAX_PAGE = 500" in (project / "shop/app/crud.py").read_text()
    assert "_commit: v2" in (project / ".copier-answers.yml").read_text()


def test_update_merges_user_edits_to_generated_files_and_keeps_owned_ones(tmp_path: Path) -> None:
    """Editing a generated file is the wrong place for one's code, but such an edit still merges;
    forge.toml is the user's and comes through byte for byte."""
    repo = template_repo(tmp_path / "forge")
    release(repo, "v2", _v2)
    project = generate(repo, tmp_path / "project", ref="v1")
    targets = project / "shop" / "app" / "forge.mk"
    targets.write_text(targets.read_text() + "\n# a local note\n")
    config = project / "forge.toml"
    config.write_text(config.read_text() + '\n[observe]\nlog_level = "DEBUG"\n')
    git(project, "commit", "-q", "-am", "more logs")
    ours = config.read_bytes()

    update(project, ref="v2")

    assert conflicts(project) == []
    assert "## list the make targets" in targets.read_text() and "# a local note" in targets.read_text()
    assert config.read_bytes() == ours


def test_changing_answers_without_moving_the_template_version(tmp_path: Path) -> None:
    repo = template_repo(tmp_path / "forge")
    release(repo, "v2", _v2)
    project = generate(repo, tmp_path / "project", ref="v1")
    resources = [
        {
            "name": "product",
            "fields": {
                "title": "str",
                "sku": "str unique",
                "price": "decimal",
                "description": "text optional",
                "in_stock": "bool",
            },
        },
        {"name": "review", "fields": {"stars": "int", "body": "text"}},
    ]

    update(project, ref=":current:", resources=resources)

    assert conflicts(project) == []
    assert (project / "shop/app/resources/review.py").exists()
    # No rendered revision on update: it would fork the chain after a hand-made one; `make migration` writes it.
    assert not (project / "shop/migrations/versions/create_review.py").exists()
    assert "MAX_PAGE = 200" in (project / "shop/app/crud.py").read_text()  # still v1
    assert "_commit: v1" in (project / ".copier-answers.yml").read_text()


def test_owned_files_keep_their_bytes_and_come_back_when_deleted(tmp_path: Path) -> None:
    repo = template_repo(tmp_path / "forge")

    def new_caller(repo: Path) -> None:
        caller = repo / SLUG_DIR / "caller.py.jinja"
        caller.write_text(caller.read_text() + "\n# v2 scaffold\n")

    release(repo, "v2", new_caller)
    project = generate(repo, tmp_path / "project", ref="v1")
    caller = project / "shop/caller.py"
    edited = caller.read_bytes().replace(b"return await bearer_caller(request)", b"return Caller('me', 'mine')")
    caller.write_bytes(edited)
    git(project, "commit", "-q", "-am", "my own caller")

    update(project, ref="v2")
    assert caller.read_bytes() == edited
    assert conflicts(project) == []

    caller.unlink()
    git(project, "commit", "-q", "-am", "drop caller")
    update(project, ref=":current:")
    assert caller.exists() and b"v2 scaffold" in caller.read_bytes()
