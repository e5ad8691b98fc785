"""``python -m cers_core``: the command line (see ``cers_core.cli``)."""

import sys

# httpx imports its own command line (click, rich's pygments: a twentieth of a second) whenever
# those are installed, as Streamlit's dependencies make them; ours never runs it. A None entry makes
# that import fail as httpx expects when they are missing (it then defines a stub instead).
sys.modules.setdefault("httpx._main", None)  # type: ignore[assignment]

from cers_core.cli import main  # noqa: E402  (after the line above, which must come first)

raise SystemExit(main())
