"""The Python examples the ETL end-to-end test runs are the document's, verbatim."""

import re

import pytest

from hubspot_deals_tests.api.etl_spec_examples import PYTHON_EXAMPLES, SPEC_FILE
from hubspot_deals_tests.servers import REPO

SPEC = REPO.parent / "shared" / "spec" / SPEC_FILE


@pytest.mark.skipif(not SPEC.exists(), reason=f"{SPEC} (outside the repository) is not here")
def test_examples_equal_the_documents_python_blocks() -> None:
    text = SPEC.read_text()
    section = text[text.index("### Python Examples") : text.index("### PowerShell Examples")]
    blocks = dict(re.findall(r"#### (.+?)\n```python\n(.*?)```", section, re.S))
    assert blocks == PYTHON_EXAMPLES
    assert list(blocks) == [
        "Start Extraction",
        "Monitor Progress",
        "Get Paginated Results",
        "Filter and Sort Results",
        "Error Handling",
    ]
