"""Every validator in copier.yml rejects a bad answer with a message that says what is wrong."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from .forge_harness import render, run


def product(**changes: Any) -> dict[str, Any]:
    resource: dict[str, Any] = {"name": "product", "fields": {"title": "str"}}
    resource.update(changes)
    return resource


def hooks(*jobs: dict[str, Any], event: str = "after_create") -> dict[str, Any]:
    return product(hooks={event: list(jobs)})


BAD_ANSWERS: list[tuple[dict[str, Any], str]] = [
    ({"project_name": "  "}, "project_name must not be empty"),
    ({"project_slug": "My-Shop"}, "project_slug 'My-Shop' must start with a lowercase letter"),
    ({"project_slug": "1shop"}, "project_slug '1shop' must start with a lowercase letter"),
    ({"project_slug": "lambda"}, "project_slug 'lambda' is a Python keyword"),
    ({"project_slug": "json"}, "project_slug 'json' is taken: a standard-library module"),
    ({"project_slug": "fastapi"}, "project_slug 'fastapi' is taken"),
    ({"project_slug": "cronsim"}, "project_slug 'cronsim' is taken"),  # else an unparsable uv.lock
    ({"project_slug": "pyjwt"}, "project_slug 'pyjwt' is taken"),  # a locked distribution, imported as jwt
    ({"project_slug": "bench"}, "project_slug 'bench' is taken"),  # else the copy aborts on a conflict
    ({"project_slug": "hatch_build"}, "project_slug 'hatch_build' is taken"),
    ({"project_slug": "s" * 31}, "is longer than 30 characters"),
    ({"project_name": "n" * 61}, "project_name is longer than 60 characters"),
    (
        {"resources": [product(name="r" * 26)]},
        "is longer than 25 characters (it names a table and a migration revision)",
    ),
    ({"resources": [product(fields={"f" * 41: "str"})]}, "and have at most 40 characters"),
    ({"author": ""}, "author must not be empty"),
    ({"http_port": 0}, "http_port must be between 1 and 65535"),
    ({"admin_port": 70000}, "admin_port must be between 1 and 65535"),
    ({"http_port": 9000, "admin_port": 9000}, "admin_port 9000 clashes with http_port"),
    ({"queues": {}}, "queues must be a non-empty mapping"),
    ({"queues": ["default"]}, "queues must be a non-empty mapping"),
    ({"queues": {"mail-out": 1}}, "queue name 'mail-out' must start with a lowercase letter"),
    ({"queues": {"q" * 41: 1}}, "is longer than 40 characters (PostgreSQL channel names are limited"),
    ({"queues": {"default": 0}}, "queue 'default' concurrency must be an integer from 1 to 256"),
    ({"queues": {"default": "many"}}, "queue 'default' concurrency must be an integer"),
    ({"resources": {"product": {}}}, "resources must be a JSON list"),
    ({"resources": [{"fields": {"a": "str"}}]}, "every resource must be a mapping with a name"),
    ({"resources": [product(name="Product")]}, "resource name 'Product' must start with a lowercase letter"),
    ({"resources": [product(name="class")]}, "resource name 'class' is a reserved word"),
    ({"resources": [product(name="caller")]}, "would name its model class Caller, which app.public already exports"),
    ({"resources": [product(), product()]}, "duplicate resource name 'product'"),
    ({"resources": [product(colour="red")]}, "resource 'product' has unknown keys colour"),
    ({"resources": [product(fields={})]}, "resource 'product' needs fields"),
    ({"resources": [product(fields={"Title": "str"})]}, "field 'Title' of resource 'product' must start"),
    ({"resources": [product(fields={"id": "int"})]}, "field 'id' of resource 'product' is a reserved name"),
    ({"resources": [product(fields={"model_x": "int"})]}, "field 'model_x' of resource 'product' is a reserved"),
    ({"resources": [product(fields={"pass": "int"})]}, "field 'pass' of resource 'product' is a reserved name"),
    (
        {"resources": [product(fields={"price": "money"})]},
        "field 'price' of resource 'product' has unknown type 'money'",
    ),
    ({"resources": [product(fields={"sku": "str sorted"})]}, "has unknown word 'sorted' (known: optional, unique"),
    ({"resources": [product(fields={"sku": "str colour=red"})]}, "has unknown word 'colour=red'"),
    ({"resources": [product(fields={"sku": "str unique unique"})]}, "field 'sku' of resource 'product' gives unique"),
    ({"resources": [product(fields={"qty": "int min=1 min=2"})]}, "gives min twice"),
    ({"resources": [product(fields={"sku": "str blank=yes"})]}, "'blank' takes no value"),
    ({"resources": [product(fields={"qty": "int min="})]}, "min needs a value, e.g. min=0"),
    ({"resources": [product(fields={"qty": "int blank"})]}, "blank allows empty strings, so it fits str and text"),
    ({"resources": [product(fields={"title": "str min=3"})]}, "min= bounds int, float and decimal fields, not str"),
    ({"resources": [product(fields={"title": "str min=3"})]}, "(for text, use min_length=)"),
    ({"resources": [product(fields={"on": "date max=2024"})]}, "max= bounds int, float and decimal fields, not date"),
    ({"resources": [product(fields={"qty": "int max_length=3"})]}, "max_length= fits str and text fields only"),
    ({"resources": [product(fields={"qty": "bool pattern=^x$"})]}, "pattern= fits str and text fields only, not bool"),
    ({"resources": [product(fields={"qty": "int min=1.5"})]}, "min=1.5 is not an integer"),
    ({"resources": [product(fields={"ratio": "float max=abc"})]}, "max=abc is not a number such as 0.5"),
    ({"resources": [product(fields={"price": "decimal min=0.00001"})]}, "min=0.00001 is not a decimal with at most"),
    ({"resources": [product(fields={"qty": "int max=9007199254740992"})]}, "is beyond the API's integers"),
    ({"resources": [product(fields={"title": "str min_length=-1"})]}, "min_length=-1 is not a whole number"),
    ({"resources": [product(fields={"title": "str max_length=256"})]}, "max_length=256 must be from 1 to 255"),
    ({"resources": [product(fields={"title": "str max_length=0"})]}, "max_length=0 must be from 1 to 255"),
    ({"resources": [product(fields={"title": "str pattern=" + "x" * 81})]}, "pattern must be at most 80 characters"),
    ({"resources": [product(fields={"title": 'str pattern=^"$'})]}, "without spaces, double quotes"),
    ({"resources": [product(fields={"title": "str pattern=^[A-Z"})]}, "unterminated character set"),
    ({"resources": [product(fields={"qty": "int min=5 max=1"})]}, "'product': min=5 is above max=1"),
    ({"resources": [product(fields={"title": "text min_length=9 max_length=3"})]}, "min_length=9 is above max_length"),
    ({"resources": [product(fields={"title": "str min_length=300"})]}, "above the 255 characters a str holds"),
    ({"resources": [product(hooks=["x"])]}, "hooks of resource 'product' must be a mapping"),
    ({"resources": [product(hooks={"before_create": []})]}, "hooks of resource 'product' must be a mapping"),
    ({"resources": [hooks({"kind": "Send-Mail"})]}, "job kind 'Send-Mail' is malformed"),
    ({"resources": [hooks({"kind": "import"})]}, "job kind 'import' is a reserved word"),
    ({"resources": [hooks({"queue": "default"})]}, "product.hooks.after_create entries need a kind"),
    ({"resources": [hooks({"kind": "a"}, {"kind": "a"})]}, "duplicate job kind 'a' in product.hooks.after_create"),
    ({"resources": [hooks({"kind": "a", "retries": 3})]}, "job 'a' has unknown keys retries"),
    ({"resources": [hooks({"kind": "a", "queue": "nope"})]}, "job 'a' uses queue 'nope', which is not in queues"),
    (
        {
            "resources": [
                product(
                    hooks={"after_create": [{"kind": "a"}], "after_update": [{"kind": "a", "queue": "notifications"}]}
                )
            ]
        },
        "job kind 'a' is declared on queue 'default' and on queue 'notifications'",
    ),
    ({"sse_max_connections": 0}, "sse_max_connections must be at least 1"),
    ({"sse_max_per_user": 0}, "sse_max_per_user must be at least 1"),
    ({"sse_max_connections": 10, "sse_max_per_user": 11}, "sse_max_per_user cannot exceed sse_max_connections"),
]


@pytest.mark.parametrize(("answers", "message"), BAD_ANSWERS, ids=[m for _a, m in BAD_ANSWERS])
def test_bad_answer_is_rejected_with_its_reason(
    template_src: Path, tmp_path: Path, answers: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match="Validation error for question") as caught:
        render(template_src, tmp_path / "out", **answers)
    assert message in str(caught.value)
    assert not (tmp_path / "out" / "pyproject.toml").exists()


def test_a_kind_may_serve_several_hooks_on_one_queue(template_src: Path, tmp_path: Path) -> None:
    shared = {"kind": "reindex", "queue": "default"}
    resources = [
        product(hooks={"after_create": [shared], "after_update": [shared]}),
        {"name": "order", "fields": {"total": "decimal"}, "hooks": {"after_create": [shared]}},
    ]
    render(template_src, tmp_path / "out", resources=resources)
    assert (tmp_path / "out" / "pyproject.toml").exists()


def test_default_slug_is_derived_from_the_name(template_src: Path, tmp_path: Path) -> None:
    out = render(template_src, tmp_path / "out", project_name="Acme Order Desk!")
    assert (out / "acme_order_desk" / "app" / "main.py").exists()


@pytest.mark.slow
def test_taken_names_cover_the_lock_the_standard_library_and_the_project_tree(
    template_src: Path, workdir: Path
) -> None:
    """forge_taken_modules holds every name a slug could collide with, read from a rendered and synced project:
    each import name of what the venv holds, each distribution name in uv.lock (the slug is the project's
    distribution name too, so `cronsim` made two `cronsim` packages), the standard library, and the top-level
    entries and build outputs of the project. A dependency the template adds fails here until it is listed."""
    project = render(template_src, workdir / "taken-names")
    run(["uv", "sync", "--frozen", "--quiet"], project)
    script = (
        "import importlib.metadata as m, json, sys;"
        "print(json.dumps([*m.packages_distributions(), *sys.stdlib_module_names]))"
    )
    imported: list[str] = json.loads(run(["uv", "run", "--frozen", "python", "-c", script], project))
    locked = [
        re.sub(r"[-.]+", "_", p["name"]).lower() for p in tomllib.loads((project / "uv.lock").read_text())["package"]
    ]
    entries = [path.name.removesuffix(".py") for path in project.iterdir()]
    ignored = [line.strip().strip("/") for line in (project / ".gitignore").read_text().splitlines()]
    taken = yaml.safe_load((template_src / "copier.yml").read_text())["forge_taken_modules"]["default"]
    could_be_slugs = {
        name for name in [*imported, *locked, *entries, *ignored] if re.fullmatch(r"[a-z][a-z0-9_]*", name)
    }
    assert sorted(could_be_slugs - {"shop"} - set(taken)) == []
