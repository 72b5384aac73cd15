import sys

from esm.cli import main

sys.exit(main())
