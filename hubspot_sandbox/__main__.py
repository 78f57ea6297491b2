import sys

from hubspot_deals.sandbox.cli import main

sys.exit(main())
