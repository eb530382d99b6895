"""`python -m <package>`: Forge's command line. Yours: Forge scaffolded it once."""

import sys

from .app.public import command_line

sys.exit(command_line())
