"""Where Forge relies on a library's private names or undocumented behaviour: one module per library."""
