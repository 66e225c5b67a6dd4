"""The conformance tests, one module per protocol area. Run with `pytest conformance/suite` in a
checkout or `pytest --pyargs conformance.suite` after an install."""
