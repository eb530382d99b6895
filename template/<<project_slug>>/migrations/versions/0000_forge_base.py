"""Forge base revision: the root every resource migration chains from.

Revision ID: forge_base
Revises:
"""

from collections.abc import Sequence

revision: str = "forge_base"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
