"""Downloads of a completed scan's table as a file (json, csv, excel)."""

import logging
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from api_shim.services.download_formats import FORMATS, csv_chunks, json_chunks, write_xlsx
from api_shim.services.results import ResultsService
from api_shim.tenancy import TenantScope, TenantScoped

log = logging.getLogger(__name__)

FILE_CHUNK_BYTES = 1024 * 1024
_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass
class Download:
    """A file on its way to the client: its body in chunks and what releases its resources."""

    filename: str
    media_type: str
    chunks: Iterator[bytes]
    close: Callable[[], None]
    length: int | None = None


class DownloadService(TenantScoped):
    """Files of completed scans' tables, for the scans its tenant scope sees."""

    def __init__(self, results: ResultsService) -> None:
        self.results = results

    def _scope_parts(self, scope: TenantScope) -> None:
        self.results = self.results.for_scope(scope)

    def open(self, scan_id: str, format_name: str, table: str) -> Download:
        """Checks everything a client can get wrong before the first byte is sent: an unknown
        scan (404), a scan not completed or an unknown table (400), a table too large for
        Excel (400)."""
        file_format = FORMATS[format_name]
        export = self.results.export(scan_id, table)
        filename = f"{_UNSAFE_FILENAME.sub('_', scan_id)}-{table}.{file_format.extension}"
        log.info("download scan_id=%s table=%s format=%s", scan_id, table, format_name)
        if format_name == "json":
            chunks = json_chunks(scan_id, export)
            return Download(filename, file_format.media_type, chunks, export.close)
        if format_name == "csv":
            return Download(filename, file_format.media_type, csv_chunks(export), export.close)
        fd, name = tempfile.mkstemp(prefix="hubspot-deals-", suffix=".xlsx")
        os.close(fd)
        path = Path(name)
        try:
            write_xlsx(export, path)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        finally:
            export.close()
        return Download(
            filename,
            file_format.media_type,
            _file_chunks(path),
            lambda: path.unlink(missing_ok=True),
            path.stat().st_size,
        )


def _file_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as f:
        while chunk := f.read(FILE_CHUNK_BYTES):
            yield chunk
