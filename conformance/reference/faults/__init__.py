"""Named faults of the reference gateway: each one small deviation from the protocol.

Self-tests run the suite against the reference gateway with each fault and snapshot which
requirements fail; a fault must fail exactly the requirements it breaks (`breaks`). `Fault` itself
is the correct behaviour; a fault overrides one hook. Variants are correct but unusual and must
pass everything.
"""

from conformance.reference.faults import discovery, forwarding, hostile, http, streaming, translation  # noqa: F401  (registers the faults)
from conformance.reference.faults.base import FAULTS, Fault, get_fault

__all__ = ["FAULTS", "Fault", "get_fault"]
