"""The reference gateway and its named faults. Depends on nothing of the suite: it is a gateway, not a test."""

from conformance.reference.faults import FAULTS, Fault, get_fault
from conformance.reference.gateway import ReferenceGateway

__all__ = ["FAULTS", "Fault", "ReferenceGateway", "get_fault"]
