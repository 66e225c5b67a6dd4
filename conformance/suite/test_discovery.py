"""Section G of the protocol contract: model discovery (DISC), with AUTH-4.

Claude Code (with CLAUDE_CODE_ENABLE_GATEWAY_MODEL_DISCOVERY=1) sends `GET {base}/v1/models?limit=1000`
once at start-up, with its own small header set (capture d1), gives up after 3 s, treats any redirect
as failure, and keeps only ids containing "claude" or "anthropic". /v1/models is optional: a gateway
that answers 404 has these requirements not applicable.
"""

from __future__ import annotations

import re

import pytest

from conformance.expect import answered, check, not_applicable
from conformance.requests import message_body
from conformance.shapes import json_problems
from conformance.upstream.answers import UPSTREAM_CATALOGUE, models_page

DISCOVERY_DEADLINE_S = 3.0  # the client hung up 2.998 s after sending (capture d3)
DISCOVERY_WARNING_S = 2.0  # above this, little margin is left for real networks (spec DISC-3 check)
KEPT_ID = re.compile(r"claude|anthropic", re.I)  # the client's filter since 2.1.223 (DISC-8)
ROUTABILITY_SAMPLE = 5  # DISC-9 sends at most this many max_tokens:1 requests
CREDENTIAL_REFUSALS = (401, 403)


@pytest.fixture
def discovery(gateway, endpoints, measurements):
    """The discovery request as Claude Code sends it, on a fresh connection, redirects not followed."""
    if not endpoints.models_served:
        not_applicable(f"/v1/models is not served (HTTP {endpoints.models_status}); it is optional (PATH-4)")
    exchange = answered(gateway.get_models(fresh_connection=True, follow_redirects=False,
                                           deadline_s=DISCOVERY_DEADLINE_S * 3, label="discovery request"), "DISC-3")
    elapsed = exchange.elapsed_s
    note = f" (above {DISCOVERY_WARNING_S:g} s: little margin before the client's 3 s timeout)" if elapsed > DISCOVERY_WARNING_S else ""
    measurements["discovery: complete GET /v1/models?limit=1000 answer"] = f"{elapsed:.3f} s, HTTP {exchange.status}{note}"
    return exchange


def page(discovery):
    """The decoded page, or a skip when there is no 200 page to judge (DISC-3 reports the status)."""
    if discovery.status != 200 or discovery.error:
        pytest.skip(f"no complete 200 answer to judge (HTTP {discovery.status}; see DISC-3)")
    return discovery.json()


@pytest.mark.req("DISC-3")
def test_models_answered_completely_within_three_seconds(discovery):
    check(discovery.status == 200 and not discovery.error, "DISC-3",
          f"GET /v1/models?limit=1000 answered {discovery.summary(200)}" +
          (f" (redirect to {discovery.header('location')})" if 300 <= discovery.status < 400 else ""),
          "HTTP 200, never a redirect")
    check(discovery.elapsed_s <= DISCOVERY_DEADLINE_S, "DISC-3",
          f"the complete answer took {discovery.elapsed_s:.2f} s from sending the request on a fresh connection",
          f"the whole response, body included, within {DISCOVERY_DEADLINE_S:g} s (the client then gives up silently)")


@pytest.mark.req("DISC-4", "AUTH-4")
@pytest.mark.parametrize("credentials", ["declared header alone", "both headers"])
def test_models_accepts_the_inference_credential_headers(gateway, auth, endpoints, credentials):
    if not endpoints.models_served:
        not_applicable("/v1/models is not served")
    if not endpoints.models_authenticated:
        not_applicable("/v1/models is served without a credential")
    modes = auth.declared if credentials == "declared header alone" else ("both",)
    answers = {mode: answered(gateway.get_models(credentials=mode, label=f"discovery with the key in {mode}"), "DISC-4")
               for mode in modes or ("bearer",)}
    # Isolate the credential: a refusal that every credential gets alike (e.g. a 400 for limit=1000) is not about
    # the credential; DISC-3 reports the status.
    accepted_somewhere = endpoints.models_status == 200 or any(e.status == 200 for e in answers.values())
    for mode, exchange in answers.items():
        about_credential = exchange.status in CREDENTIAL_REFUSALS or (exchange.status != 200 and accepted_somewhere)
        if exchange.status != 200 and not about_credential:
            pytest.skip(f"cannot judge the credential: /v1/models answered {exchange.summary(120)} whatever the "
                        "credential (DISC-3 reports it)")
        check(exchange.status == 200, "DISC-4", f"GET /v1/models with the valid key in {mode} answered {exchange.summary(200)}",
              "HTTP 200 with the credential headers that work for /v1/messages")


@pytest.mark.req("DISC-5")
def test_models_body_has_data_with_ids(discovery):
    page(discovery)
    problems = json_problems(discovery, "models_page")
    check(not problems, "DISC-5", f"{discovery.summary(300)}: {'; '.join(problems)}", "JSON with a data array of objects with a string id")


@pytest.mark.req("DISC-6")
def test_models_page_has_the_full_list_models_shape(discovery):
    page(discovery)
    problems = json_problems(discovery, "models_page_full")
    check(not problems, "DISC-6", "; ".join(problems[:5]), "type, id, display_name, created_at per model; has_more, first_id, last_id")


@pytest.mark.req("DISC-7")
def test_limit_1000_returns_the_whole_catalogue(discovery, target):
    body = page(discovery)
    listed = listed_ids(body)
    check(not (isinstance(body, dict) and body.get("has_more") is True), "DISC-7",
          f"with limit=1000 the page has {len(listed)} models and has_more: true",
          "has_more false or absent: the client may not fetch further pages")
    if target.upstream is None:
        return  # live: only the page itself can be judged
    # What the gateway fetched from the recording upstream's catalogue while answering (pages it asked for).
    fetched = [r for r in target.upstream.all_requests if r.kind == "models" and discovery.started_at <= r.received_at <= discovery.finished_at]
    served = {m["id"] for r in fetched for m in models_page(UPSTREAM_CATALOGUE, r.query)["data"]}
    check(not fetched or served == set(UPSTREAM_CATALOGUE) or len(listed) >= len(UPSTREAM_CATALOGUE), "DISC-7",
          f"the gateway asked its upstream for {', '.join(repr(r.raw_path) for r in fetched)}, so it saw {len(served)} of the "
          f"upstream's {len(UPSTREAM_CATALOGUE)} models (the rest were on later pages it never fetched), and listed {len(listed)}",
          "the whole catalogue in one page: pass limit=1000 upstream, or follow has_more / after_id until the end")


def listed_ids(body) -> list[str]:
    """The string ids of a models page (nothing for a body that is not one)."""
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        return []
    return [m["id"] for m in body["data"] if isinstance(m, dict) and isinstance(m.get("id"), str)]


@pytest.mark.req("DISC-8")
def test_listed_ids_are_kept_by_the_client_filter(discovery, measurements):
    ids = listed_ids(page(discovery))
    dropped = [i for i in ids if not KEPT_ID.search(i)]
    measurements["discovery: models listed / kept by Claude Code's filter"] = f"{len(ids)} / {len(ids) - len(dropped)}"
    check(len(dropped) < len(ids), "DISC-8", f"Claude Code would drop every listed id: {dropped[:20]}",
          "ids that contain claude or anthropic (Claude Code keeps only those)")


@pytest.mark.req("DISC-9")
def test_listed_claude_ids_are_routable(gateway, discovery, marker):
    ids = [i for i in listed_ids(page(discovery)) if KEPT_ID.search(i)]
    if not ids:
        not_applicable("no listed id passes Claude Code's filter, so none can be picked (DISC-8 reports it)")
    for model_id in ids[:ROUTABILITY_SAMPLE]:
        exchange = answered(gateway.post_messages(message_body(model_id, marker), label=f"route {model_id}"), "DISC-9")
        check(exchange.status == 200, "DISC-9", f"the listed model {model_id!r} answered {exchange.summary(200)}",
              f"every listed Claude id routable on /v1/messages (checked the first {ROUTABILITY_SAMPLE})")
