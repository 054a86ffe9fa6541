"""The three failure kinds, over real HTTP through the openai client: unusable endpoints fail at once, context
overflows are never resent (in every server's wording and every way they arrive), outages are retried within a
bounded window and then reported as EndpointDown, and the client works again when the endpoint is back."""

from __future__ import annotations

import json
import time

import pytest

from agent.llm import ContextOverflow, EndpointDown, EndpointUnusable, LLMClient, LLMConfig, LLMError
from agent.llm.overflow import find_overflow
from common.errors import UserError
from tests.fake_llm_server import OVERFLOW_STYLES, FakeLLMServer, cut, error, overflow, overflow_error, text
from tests.test_llm_retry import GOOD, MSGS, TOOLS, client_for

pytestmark = [pytest.mark.timeout(60), pytest.mark.usefixtures("no_user_llm_env")]


# -- fail fast -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_key_fails_at_once_with_the_fix(status):
    with FakeLLMServer([GOOD], api_key="right", auth_status=status) as server:
        t0 = time.monotonic()
        with pytest.raises(EndpointUnusable) as err:
            client_for(server, api_key="wrong").complete(MSGS, TOOLS)
        elapsed = time.monotonic() - t0
    assert len(server.requests) == 1 and elapsed < 2            # no retries
    msg = str(err.value)
    assert f"HTTP {status}" in msg and "OPENAI_API_KEY" in msg and "\n" not in msg
    assert err.value.status_code == status and isinstance(err.value, UserError)   # the CLI prints it as one line


def test_a_wrong_path_or_model_is_unusable():
    with FakeLLMServer([error(404, message="The model `nope` does not exist.")]) as server:
        with pytest.raises(EndpointUnusable, match="ends in /v1"):
            client_for(server, model="nope").complete(MSGS, TOOLS)
    assert server.calls == 1


def test_no_endpoint_configured_is_refused_without_calling_anyone():
    cfg = LLMConfig.from_env()
    assert cfg.base_url is None
    with pytest.raises(EndpointUnusable) as err:
        LLMClient(cfg)
    msg = str(err.value)
    assert "no model endpoint is configured" in msg and "OPENAI_BASE_URL" in msg and "--base-url" in msg


@pytest.mark.parametrize("url", ["localhost:8000/v1", "http//localhost:8000/v1", "ftp://host/v1", "http://",
                                 "http://host:99999/v1", "http://host name/v1", "/v1"])
def test_a_malformed_base_url_is_refused_with_an_example(url):
    with pytest.raises(EndpointUnusable, match="write it like http://localhost:8000/v1"):
        LLMConfig.from_env(base_url=url)


def test_other_client_errors_are_not_retried_and_not_called_unusable():
    with FakeLLMServer([error(422, message="tools[0] is not a valid schema"), GOOD]) as server:
        with pytest.raises(LLMError) as err:
            client_for(server).complete(MSGS, TOOLS)
    assert server.calls == 1 and err.value.status_code == 422
    assert type(err.value) is LLMError and not err.value.retryable


# -- context overflow ------------------------------------------------------------------------------------
WORDINGS = {
    "openai": (8192, 9000), "vllm": (8192, 9000), "vllm_v1": (8192, 9000), "sglang": (8192, 9000),
    "llamacpp": (8192, 9000), "llamacpp_old": (None, None), "llama_cpp_python": (8192, 9000),
}


@pytest.mark.parametrize("style", OVERFLOW_STYLES)
def test_every_servers_overflow_wording_is_recognised_with_its_numbers(style):
    status, body = overflow_error(style, 8192, 9000)
    found = find_overflow(json.dumps(body), status)
    assert found is not None
    assert (found.context_window, found.prompt_tokens) == WORDINGS[style]


@pytest.mark.parametrize("message", [
    "Requested tokens (9000) exceed context window of 8192",                     # llama-cpp-python, the library
    "input (9000 tokens) is larger than the max context size (8192 tokens). skipping",   # older llama.cpp
    "Requested token count exceeds the model's maximum context length of 8192 tokens. You requested a total of "
    "9000 tokens: 8000 tokens from the input messages and 1000 tokens for the completion.",   # SGLang
    "'max_tokens' is too large: 1000. This model's maximum context length is 8192 tokens and your request has "
    "9000 input tokens (1000 > 8192 - 9000).",                                    # vLLM, completion budget
])
def test_other_wordings_give_window_and_size(message):
    found = find_overflow(message)
    assert found is not None and found.context_window == 8192 and found.prompt_tokens == 9000


@pytest.mark.parametrize("message", ["rate limit exceeded", "invalid api key", "tool schema is invalid",
                                     "the model is overloaded, try again", "Internal Server Error"])
def test_other_errors_are_not_overflows(message):
    assert find_overflow(message, 400) is None


@pytest.mark.parametrize("style", OVERFLOW_STYLES)
@pytest.mark.parametrize("how", ["status", "stream_error", "error_line"])
def test_an_overflow_is_raised_at_once_and_never_resent(style, how):
    with FakeLLMServer([overflow(style, 8192, 9000, how=how, role_chunk=how != "status"), GOOD]) as server:
        client = client_for(server)
        t0 = time.monotonic()
        with pytest.raises(ContextOverflow) as err:
            client.complete(MSGS, TOOLS)
        assert time.monotonic() - t0 < 2
    assert server.calls == 1                                   # the same request was not sent again
    e = err.value
    window, prompt = WORDINGS[style]
    assert client.context_window == window and e.context_window == window   # learnt from the server's words
    if prompt is not None:
        assert e.prompt_tokens == prompt
    assert e.prompt_tokens and not e.retryable


def test_an_error_chunk_in_vllms_form_is_read():
    _, body = overflow_error("vllm", 4096, 5000)
    with FakeLLMServer([{"error_chunk": body, "role_chunk": True}, GOOD]) as server:
        with pytest.raises(ContextOverflow) as err:
            client_for(server).complete(MSGS, TOOLS)
    assert server.calls == 1 and err.value.context_window == 4096


@pytest.mark.parametrize("code,kind", [(400, LLMError), (401, EndpointUnusable)])
def test_a_stream_error_with_a_client_status_is_not_retried(code, kind):
    bad = {"message": "tools[0].function.parameters is not a valid JSON schema", "type": "BadRequestError",
           "code": code}
    with FakeLLMServer([{"stream_error": bad}, GOOD]) as server:
        with pytest.raises(kind) as err:
            client_for(server).complete(MSGS, TOOLS)
    assert server.calls == 1 and type(err.value) is kind and err.value.status_code == code


@pytest.mark.parametrize("event", [{"stream_error": {"message": "engine step failed", "code": 500}},
                                   {"error_line": {"message": "slot unavailable", "type": "unavailable_error"}}])
def test_a_stream_error_from_a_failing_server_is_retried(event):
    with FakeLLMServer([{**event, "role_chunk": True}, GOOD]) as server:
        turn = client_for(server).complete(MSGS, TOOLS)
    assert server.calls == 2 and turn.retries == 1 and turn.retry_causes[0].startswith("stream error")


@pytest.mark.parametrize("style", ["llama_cpp_python", "vllm"])
def test_a_silent_empty_stream_is_asked_once_without_streaming_which_tells_the_overflow(style):
    with FakeLLMServer([overflow(style, 8192, 8431, how="empty")] * 2 + [GOOD]) as server:
        client = client_for(server)
        with pytest.raises(ContextOverflow) as err:
            client.complete(MSGS, TOOLS)
    assert [b["stream"] for b in server.chat_requests] == [True, False]     # never the same request twice
    assert err.value.context_window == 8192 and err.value.prompt_tokens == 8431 and client.context_window == 8192
    assert err.value.attempts == 2 and "longer than the context window" in str(err.value)


def test_a_silent_empty_stream_then_a_whole_answer_gives_the_turn():
    with FakeLLMServer([overflow(how="empty"), GOOD, GOOD]) as server:
        client = client_for(server)
        turn = client.complete(MSGS, TOOLS)
        assert turn.content == "Listing." and turn.retries == 1 and turn.retry_causes[0].startswith("empty stream")
        client.complete(MSGS, TOOLS)
    assert [b["stream"] for b in server.chat_requests] == [True, False, True]   # the next turn streams again


def test_a_stream_cut_before_any_chunk_is_a_cut_not_a_silent_refusal():
    with FakeLLMServer([cut(GOOD, after=0, mode="abort"), GOOD]) as server:
        turn = client_for(server).complete(MSGS, TOOLS)
    assert [b["stream"] for b in server.chat_requests] == [True, True] and turn.retry_causes[0].startswith("stream cut")


def test_a_server_with_a_window_lets_short_prompts_through_and_teaches_the_window():
    with FakeLLMServer(lambda body, i: text("ok"), context_window=1000, overflow_style="sglang") as server:
        client = client_for(server)
        assert client.complete(MSGS, None).content == "ok" and client.context_window is None
        with pytest.raises(ContextOverflow):
            client.complete([{"role": "user", "content": "y" * 8000}], None)
        assert client.complete(MSGS, None).content == "ok"         # a shorter history goes through again
    assert server.overflows == 1 and client.context_window == 1000


def test_the_configured_window_and_the_servers_the_smaller_wins():
    with FakeLLMServer([overflow("vllm", 32768, 40000)]) as server:
        client = client_for(server, context_window=16000)
        assert client.context_window == 16000
        with pytest.raises(ContextOverflow):
            client.complete(MSGS, None)
        assert client.context_window == 16000                      # the server's 32768 is larger
        small = client_for(server, context_window=64000)
        small.server_window = 32768
        assert small.context_window == 32768


# -- outages ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["503", "502", "reset", "refuse"])
def test_a_short_outage_is_ridden_out(mode):
    with FakeLLMServer(lambda body, i: GOOD) as server:
        client = client_for(server, max_retries=50, retry_window_s=20)
        assert client.complete(MSGS, TOOLS).content == "Listing."
        server.outage_for(0.6, mode)
        t0 = time.monotonic()
        turn = client.complete(MSGS, TOOLS)
        waited = time.monotonic() - t0
    assert turn.content == "Listing." and turn.retries >= 1 and 0.5 <= waited < 10


def test_a_hung_endpoint_times_out_and_is_retried_until_back():
    with FakeLLMServer(lambda body, i: GOOD) as server:
        client = client_for(server, read_timeout_s=0.3, max_retries=50, retry_window_s=20)
        server.outage_for(1.0, "hang")
        turn = client.complete(MSGS, TOOLS)
    assert turn.content == "Listing." and any(c.startswith("timeout") for c in turn.retry_causes)


@pytest.mark.parametrize("mode", ["503", "refuse"])
def test_an_outage_longer_than_the_retry_window_is_endpoint_down_then_work_resumes(mode):
    with FakeLLMServer(lambda body, i: GOOD) as server:
        client = client_for(server, max_retries=1000, retry_window_s=0.8)
        server.outage(mode)
        t0 = time.monotonic()
        with pytest.raises(EndpointDown) as err:
            client.complete(MSGS, TOOLS)
        elapsed = time.monotonic() - t0
        assert 0.5 <= elapsed < 3                                   # bounded by the window, not by max_retries
        assert err.value.attempts >= 3 and err.value.retryable and "an outage" in str(err.value)
        server.restore()
        assert client.complete(MSGS, TOOLS).content == "Listing."   # the same client works when it is back


def test_the_retry_window_counts_from_the_first_failure_not_from_a_long_generation():
    long_then_cut = cut({**GOOD, "chunk_delay_s": 0.15}, after=8)        # streams for 1.2 s, then the socket drops
    with FakeLLMServer([long_then_cut, GOOD]) as server:
        turn = client_for(server, retry_window_s=0.5).complete(MSGS, TOOLS)
    assert turn.content == "Listing." and turn.retries == 1 and turn.retry_causes[0].startswith("stream cut")


def test_a_retry_after_past_the_window_is_reported_at_once_with_the_wait():
    with FakeLLMServer([error(429, retry_after=3600), GOOD]) as server:
        t0 = time.monotonic()
        with pytest.raises(EndpointDown) as err:
            client_for(server, retry_window_s=30).complete(MSGS, TOOLS)
    assert time.monotonic() - t0 < 2 and server.calls == 1
    assert err.value.retry_after_s == 3600 and err.value.status_code == 429

