"""Property-based fuzz of the OpenAPI schema (schemathesis): no input yields a 5xx.

Runs schemathesis's case strategies directly under hypothesis (its pytest plugin does not
support pytest 9 yet), one bounded search per operation.
"""

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from test_api import publish

from api.main import create_app
from api.settings import Settings
from discrete_gan.registry import Registry


@pytest.fixture(scope="module")
def api_schema(trained_tiny, tmp_path_factory):
    reg = Registry(tmp_path_factory.mktemp("fuzzreg"))
    publish(reg, "tiny", trained_tiny)
    app = create_app(
        Settings(
            registry=str(reg.root), rescan_interval_s=0, max_rows_json=2000, max_rows_stream=5000
        )
    )
    with TestClient(app):  # runs the lifespan: models are loaded into app.state
        pass
    return schemathesis.openapi.from_asgi("/openapi.json", app)


@pytest.mark.slow
def test_no_server_errors(api_schema):
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 8
    failures, seen = [], []

    def fuzz_operation(operation) -> None:
        @settings(
            max_examples=30,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def fuzz(case):
            response = case.call()
            seen.append(response.status_code)
            if response.status_code >= 500:
                failures.append((operation.label, case.path_parameters, case.body, response.text))

        fuzz()

    for operation in operations:
        fuzz_operation(operation)
    assert not failures, failures[:3]
    assert 200 in seen and len(seen) >= 100, sorted(set(seen))
