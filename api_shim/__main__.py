import sys

from api_shim.main import main

sys.exit(main())
