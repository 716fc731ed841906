"""A bounded schemathesis run against /openapi.json: no 5xx, every answer as documented."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

EXAMPLES_PER_OPERATION = 6
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


def test_no_generated_request_makes_the_server_fail_or_answer_off_contract(
    base_url, operator_headers
):
    # Loaded inside the test: the server exists only once the session fixtures ran.
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    failures: dict[str, str] = {}
    operations = 0
    statuses: list[int] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def fuzz(case):
            response = case.call_and_validate(base_url=base_url, headers=operator_headers,
                                              checks=CHECKS, timeout=30)
            statuses.append(response.status_code)

        try:
            fuzz()
        except Exception as failure:  # each operation reports, the run goes on
            failures[operation.label] = str(failure)[:600]
    assert operations >= 30
    assert len(statuses) >= 2 * operations
    assert {400, 404} <= set(statuses)  # hostile input reached the validation layers
    assert not failures, "\n\n".join(f"{label}: {text}" for label, text in failures.items())
