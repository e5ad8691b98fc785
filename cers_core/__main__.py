"""``python -m cers_core``: the command line (see ``cers_core.cli``)."""

from cers_core.cli import main

raise SystemExit(main())
