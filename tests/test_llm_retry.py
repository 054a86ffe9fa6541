"""Faults from the fake server (429, 5xx, cut streams, slow first byte) recover, or end in a clear EndpointDown."""

from __future__ import annotations

import random
import time

import pytest

from agent.llm import ContextOverflow, EndpointDown, LLMClient, LLMConfig
from agent.llm.retry import backoff_delay, retry_after_s
from tests.fake_llm_server import FakeLLMServer, call, cut, error, slow, tools

pytestmark = [pytest.mark.timeout(60), pytest.mark.usefixtures("no_user_llm_env")]

TOOLS = [{"type": "function", "function": {"name": "bash", "parameters": {
    "type": "object", "properties": {"command": {"type": "string"}}}}}]
MSGS = [{"role": "user", "content": "go"}]
GOOD = tools(call("bash", {"command": "ls"}), content="Listing.", thinking="look first", fmt="reasoning_content")


def client_for(server: FakeLLMServer, **kw) -> LLMClient:
    """A client with a tiny backoff base so the tests stay fast."""
    kw.setdefault("backoff_base_s", 0.01)
    kw.setdefault("backoff_max_s", 0.05)
    kw.setdefault("api_key", "k")
    return LLMClient(LLMConfig.from_env(base_url=server.base_url, **kw))


def assert_good(turn) -> None:
    assert turn.content == "Listing." and turn.thinking == "look first"
    assert turn.tool_calls[0].args == {"command": "ls"} and turn.finish_reason == "tool_calls"


@pytest.mark.parametrize("fault,cause", [
    (error(500), "HTTP 500"),
    (error(502, message="bad gateway"), "HTTP 502"),
    (error(503), "HTTP 503"),
    (cut(GOOD, after=4, mode="abort"), "stream cut"),      # socket closed mid-SSE
    (cut(GOOD, after=6, mode="eof"), "stream cut"),        # clean end without finish_reason / [DONE]
    (cut(GOOD, after=0, mode="abort"), "stream cut"),      # headers only
])
def test_transient_fault_recovers(fault, cause):
    with FakeLLMServer([fault, GOOD]) as server:
        turn = client_for(server).complete(MSGS, TOOLS)
    assert_good(turn)
    assert turn.retries == 1 and server.calls == 2
    assert turn.retry_causes[0].startswith(cause)


def test_partial_output_of_a_cut_stream_is_discarded():
    seen = []
    first = cut(tools(call("bash", {"command": "rm -rf half"}), thinking="WRONG"), after=5)
    with FakeLLMServer([first, GOOD]) as server:
        turn = client_for(server).complete(MSGS, TOOLS, on_delta=lambda k, t: seen.append(t))
    assert_good(turn)
    assert "WRONG" not in turn.thinking and len(turn.tool_calls) == 1


def test_429_honours_retry_after():
    with FakeLLMServer([error(429, retry_after=0.6), GOOD]) as server:
        t0 = time.monotonic()
        turn = client_for(server, backoff_base_s=0.001).complete(MSGS, TOOLS)
        waited = time.monotonic() - t0
    assert_good(turn)
    assert turn.retries == 1 and "HTTP 429" in turn.retry_causes[0]
    gap = server.requests[1]["time"] - server.requests[0]["time"]
    assert 0.55 <= gap and waited < 10


def test_slow_first_byte_times_out_and_retries():
    with FakeLLMServer([slow(GOOD, 6.0), GOOD]) as server:
        t0 = time.monotonic()
        turn = client_for(server, read_timeout_s=0.3).complete(MSGS, TOOLS)
        elapsed = time.monotonic() - t0
    assert_good(turn)
    assert turn.retries == 1 and turn.retry_causes[0].startswith("timeout")
    assert elapsed < 5.0                                   # gave up on the 6 s answer instead of waiting for it


def test_several_faults_in_a_row_then_success():
    script = [error(500), error(429, retry_after=0), cut(GOOD, after=3), slow(GOOD, 1.0), GOOD]
    with FakeLLMServer(script) as server:
        turn = client_for(server, read_timeout_s=0.3, max_retries=4).complete(MSGS, TOOLS)
    assert_good(turn)
    assert turn.retries == 4 and len(turn.retry_causes) == 4 and server.calls == 5


def test_persistent_fault_ends_with_clear_error_after_budget():
    with FakeLLMServer(lambda req, i: error(503, message="overloaded")) as server:
        t0 = time.monotonic()
        with pytest.raises(EndpointDown) as err:
            client_for(server, max_retries=3, backoff_base_s=0.02, backoff_max_s=0.1).complete(MSGS, TOOLS)
        elapsed = time.monotonic() - t0
    e = err.value
    assert server.calls == 4 and e.attempts == 4 and e.retryable
    assert "4 time(s)" in str(e) and "HTTP 503: overloaded" in str(e) and e.status_code == 503
    assert elapsed < 3                                         # backoff stays bounded by backoff_max_s


def test_persistent_cut_names_the_cut():
    with FakeLLMServer(lambda req, i: cut(GOOD, after=2)) as server:
        with pytest.raises(EndpointDown, match="stream cut"):
            client_for(server, max_retries=2).complete(MSGS, TOOLS)
    assert server.calls == 3


def test_a_context_overflow_is_not_retried():
    with FakeLLMServer([error(400, message="context length exceeded"), GOOD]) as server:
        with pytest.raises(ContextOverflow) as err:
            client_for(server).complete(MSGS, TOOLS)
    assert server.calls == 1 and err.value.status_code == 400 and not err.value.retryable
    assert "context length exceeded" in str(err.value)


def test_connection_refused_is_retried_then_fails():
    server = FakeLLMServer([GOOD])
    url = server.base_url
    server.stop()                                              # nothing listens on that port any more
    client = LLMClient(LLMConfig.from_env(base_url=url, api_key="k", max_retries=2, backoff_base_s=0.01))
    with pytest.raises(EndpointDown) as err:
        client.complete(MSGS, TOOLS)
    assert err.value.attempts == 3 and "connection" in err.value.cause.lower()


def test_backoff_is_exponential_with_full_jitter_and_capped():
    rng = random.Random(0)
    for attempt in range(1, 12):
        cap = min(8.0, 0.5 * 2 ** (attempt - 1))
        samples = [backoff_delay(attempt, 0.5, 8.0, rng) for _ in range(300)]
        assert all(0 <= s <= cap for s in samples)
        assert max(samples) > 0.8 * cap and min(samples) < 0.2 * cap   # spread over the whole range


def test_retry_after_header_forms():
    assert retry_after_s({"retry-after": "2"}) == 2.0
    assert retry_after_s({"retry-after": "0.25"}) == 0.25
    assert retry_after_s({"retry-after-ms": "1500"}) == 1.5
    assert retry_after_s({}) is None and retry_after_s({"retry-after": "soon"}) is None
    http_date = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 30))
    assert 25 <= retry_after_s({"retry-after": http_date}) <= 31


def test_cut_after_finish_reason_keeps_the_turn():
    step = cut({**GOOD, "usage": False}, after=10**6)          # everything but [DONE], then the socket closes
    with FakeLLMServer([step, GOOD]) as server:
        turn = client_for(server).complete(MSGS, TOOLS)
    assert_good(turn)
    assert turn.retries == 0 and server.calls == 1 and turn.usage.estimated


def test_server_without_stream_options_falls_back_to_estimated_usage():
    with FakeLLMServer([GOOD], reject_stream_options=True) as server:
        client = client_for(server)
        turn = client.complete(MSGS, TOOLS)
        assert "stream_options" not in server.chat_requests[-1]
        assert_good(turn)
        assert turn.usage.estimated and turn.usage.completion_tokens > 0
    posts = [r for r in server.requests if r["method"] == "POST"]
    assert len(posts) == 2 and "stream_options" in posts[0]["json"] and turn.retries == 0
