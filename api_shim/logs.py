"""Log lines as `time level logger: message key=value ...`; never a token or a request body."""

import logging


def configure_logging(level: str = "info") -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
