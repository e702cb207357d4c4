"""The OpenAPI document is what clients were promised: tests/contract/openapi.json, saved before the
code was reshaped (issue 26), apart from descriptions. A change to the API is made on purpose: write
the new document with `tickerwatch openapi --out tests/contract/openapi.json` and commit it with the
change, so the difference is reviewed."""

from __future__ import annotations

import json
from pathlib import Path

from tickerwatch.local import build_local_app

SAVED = Path(__file__).resolve().parents[1] / "contract" / "openapi.json"


def without_descriptions(node):
    if isinstance(node, dict):
        return {key: without_descriptions(value) for key, value in node.items() if key != "description"}
    if isinstance(node, list):
        return [without_descriptions(value) for value in node]
    return node


def test_the_document_is_the_saved_one_apart_from_descriptions():
    served = json.loads(json.dumps(build_local_app([]).openapi()))
    saved = json.loads(SAVED.read_text())
    assert without_descriptions(served) == without_descriptions(saved)
    assert sorted(served["paths"]) == sorted(saved["paths"])  # said plainly when a path comes or goes
