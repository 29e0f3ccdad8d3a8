"""``python -m autoda`` is the ``autoda`` command."""
from .cli import main

main()
