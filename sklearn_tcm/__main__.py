"""``python -m sklearn_tcm``: the ``sklearn-tcm`` command."""

import sys

from .cli import main

sys.exit(main())
