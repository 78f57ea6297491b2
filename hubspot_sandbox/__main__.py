import sys

from hubspot_sandbox.cli import main

sys.exit(main())
