"""``python -m webhook_guard.cli``: the same as the ``webhook-guard`` console script."""

import sys

from . import main

sys.exit(main())
