"""Which requirements of sections A-J apply to a gateway, by the family of its upstream format (spec L2's table).

The client side never changes: what Claude Code observes applies as written to every gateway. What compares
the upstream's bytes with the client's cannot hold across formats: those requirements are replaced by the
TRN requirements, or do not apply. The TRN requirements, SSE-5/SSE-14 and ERR-8 apply only to translating
gateways."""

from __future__ import annotations

from conformance.formats import ANTHROPIC, translated
from conformance.formats.base import DIALECT, OTHER, RELAY

OTHER_FORMAT_TABLE = {
    **dict.fromkeys(("BODY-1", "BODY-3", "BODY-4", "BODY-5", "BODY-6", "BODY-7", "BODY-8", "BODY-9", "BODY-13"),
                    "replaced by TRN-4 and TRN-5 for an upstream of another format: the request's meaning must reach it, "
                    "not its Anthropic fields"),
    **dict.fromkeys(("BODY-17", "HDR-4"), "not applicable to an upstream of another format: it reads other bytes and headers"),
    **dict.fromkeys(("HDR-1", "HDR-2"), "not applicable to an upstream of another format (ERR-8 applies instead: unknown "
                                        "betas must not be fatal)"),
    **dict.fromkeys(("SSE-4", "SSE-6"), "not applicable: an upstream of another format sends no Anthropic events or pings "
                                        "to relay (SSE-5 and SSE-14 apply instead)"),
    "SSE-9": "not applicable to an upstream of another format: its reasoning is judged by TRN-9",
    **dict.fromkeys(("ERR-1", "ERR-9"), "replaced by TRN-7: upstream errors come back in the Anthropic envelope with their "
                                        "status, type and retry-after"),
    "TOK-5": "not applicable: an upstream of another format has no Anthropic token count (a growing local estimate "
             "passes TOK-2 and TOK-3)",
    "ATTR-2": "replaced by TRN-6: usage must be the upstream's real counts, split the Anthropic way",
    **dict.fromkeys(("BODY-11", "ATTR-3", "BODY-2", "BODY-10", "SSE-12", "HDR-3", "AUTH-6", "ERR-4"),
                    "not applicable: it concerns what an Anthropic-format upstream reads (TRN-4 and TRN-5 say what must survive)"),
    # Not in the spec's table, same reasoning: their checks compare Anthropic fields the upstream receives.
    "HDR-6": "not applicable: it concerns the header names an Anthropic-format upstream reads",
    "BODY-12": "replaced by TRN-10 for an upstream of another format: a Claude model name is mapped to the upstream's model",
    "E2E-3": "not applicable to an upstream of another format: a signed thinking block cannot come back from it (TRN-9)",
    "E2E-5": "not applicable to a translating gateway: it compares what reaches an Anthropic upstream with what Claude "
             "Code sends one directly",
}
TRANSLATING_ONLY = ("TRN-1", "TRN-2", "TRN-3", "TRN-4", "TRN-5", "TRN-6", "TRN-7", "TRN-8", "TRN-9", "TRN-10",
                    "SSE-5", "SSE-14", "ERR-8", "PROV-3")


def not_applicable(upstream_format: str) -> dict[str, str]:
    """Requirement ID -> why it does not apply to a gateway with this upstream format."""
    if upstream_format == ANTHROPIC:
        return dict.fromkeys(TRANSLATING_ONLY, "applies only to a gateway that translates to another upstream format; "
                                               "this run declares --upstream-format anthropic (a relay)")
    provider = translated(upstream_format)
    assert provider is not None
    if provider.family == OTHER:
        return {**OTHER_FORMAT_TABLE,
                "PROV-3": "applies to Anthropic dialects (Bedrock InvokeModel, Vertex rawPredict) only"}
    assert provider.family == DIALECT
    table = {**dict.fromkeys(("ERR-1", "ERR-9"), OTHER_FORMAT_TABLE["ERR-1"]),
             **dict.fromkeys(("BODY-17", "HDR-4"), "not applicable to an Anthropic dialect: its upstream reads other bytes"),
             "E2E-5": OTHER_FORMAT_TABLE["E2E-5"], "ERR-8": "applies to upstreams of another format only",
             "BODY-12": "replaced by TRN-10 for an Anthropic dialect: the Claude model name is mapped to the provider's model "
                        "id in the URL (a Bedrock or Vertex model id)",
             **dict.fromkeys(("TRN-1", "TRN-2", "TRN-3", "TRN-4", "TRN-5", "TRN-6", "TRN-9"),
                             "an Anthropic dialect carries Anthropic events and bodies: the A-J requirements apply as written")}
    if not provider.pingless:
        table.update(dict.fromkeys(("SSE-5", "SSE-14"), f"{provider.title} streams carry the upstream's own pings (SSE-4 applies)"))
    if provider.forwards_anthropic_headers:
        table["PROV-3"] = f"applies to Bedrock InvokeModel, which takes the betas in its body; {provider.title} takes the header"
    else:
        table.update(dict.fromkeys(("HDR-1", "HDR-2", "HDR-6"), f"replaced by PROV-3 for {provider.title}: the betas travel in "
                                   "the body's anthropic_beta array and anthropic_version is the dialect's own"))
    return table


__all__ = ["DIALECT", "OTHER", "RELAY", "not_applicable"]
