"""``python -m rostercli``: the same as the ``roster`` console script."""

import sys

from rostercli.cli import main

sys.exit(main())
