"""``python -m service.cli``: the ``spillway`` command."""

import sys

from service.cli.main import main

sys.exit(main())
