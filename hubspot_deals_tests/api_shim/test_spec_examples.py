"""The examples the end-to-end tests run are the API documents' own, verbatim.

The documents are part of the repository (`docs/spec/`), so these checks run in every clone.
"""

import re

from hubspot_deals_tests.api_shim.etl_spec_examples import PYTHON_EXAMPLES, SPEC_FILE
from hubspot_deals_tests.api_shim.spec_examples import COMPLETE_WORKFLOW_EXAMPLE
from hubspot_deals_tests.servers import REPO

SPECS = REPO / "docs" / "spec"


def test_etl_examples_equal_the_documents_python_blocks() -> None:
    text = (SPECS / SPEC_FILE).read_text()
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


def test_complete_workflow_example_equals_the_documents_block() -> None:
    text = (SPECS / "deals-extraction-api.md").read_text()
    section = text[text.index("#### Complete Workflow Example") :]
    # The document's block is not closed before its next heading: it ends there.
    block = section[section.index("```python\n") + len("```python\n") :]
    assert block[: block.index("#### Error Handling")] == COMPLETE_WORKFLOW_EXAMPLE
