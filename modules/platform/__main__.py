import sys

from modules.platform.cli import main

sys.exit(main())
