"""``python -m recsys.cli ...`` is ``visrec ...``."""

import sys

from recsys.cli import main

sys.exit(main())
