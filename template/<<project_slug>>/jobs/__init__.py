"""Your job workers: one module per job kind, each declaring `@job("<kind>")`.

Forge scaffolds a module here for every kind your resource hooks name and never touches it again
(`copier update` keeps your edits, recreates a deleted one, and does not delete one whose hook you
removed). `<project> worker` imports every module of this package. See docs/jobs.md.
"""
