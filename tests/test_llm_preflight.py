"""check_endpoint over real HTTP: what it learns (models, the context window in each server's form) and how it
fails fast (no endpoint, refused key, unreachable or unknown host, a model the server does not serve)."""

from __future__ import annotations

import time

import pytest

from agent.graph.policies.llm import LLMPolicy
from agent.llm import EndpointDown, EndpointUnusable, LLMClient, LLMConfig
from agent.llm.preflight import check_endpoint
from tests.fake_llm_server import FakeLLMServer, text

pytestmark = [pytest.mark.timeout(60), pytest.mark.usefixtures("no_user_llm_env")]


def cfg_for(url: str, **kw) -> LLMConfig:
    """A config for `url` with a key."""
    kw.setdefault("api_key", "k")
    return LLMConfig.from_env(base_url=url, **kw)


@pytest.mark.parametrize("server_kw,window,source", [
    ({"max_model_len": 196608}, 196608, "/v1/models max_model_len"),                       # vLLM, SGLang
    ({"llamacpp_n_ctx": 8192, "llamacpp_n_ctx_train": 131072}, 8192, "/props n_ctx"),      # llama.cpp runtime window
    ({"llamacpp_n_ctx_train": 2048}, 2048, "/v1/models meta.n_ctx_train"),                 # llama.cpp without /props
    ({}, None, None),                                                                      # says nothing
])
def test_the_window_is_read_where_each_server_states_it(server_kw, window, source):
    with FakeLLMServer([], **server_kw) as server:
        info = check_endpoint(cfg_for(server.base_url))
    assert info.models == ["MiniMax-M2"] and info.model_listed is True
    assert (info.context_window, info.window_source) == (window, source)
    assert info.latency_s < 5 and not info.warnings
    assert server.calls == 0                                   # listing only: no chat request, nothing spent


def test_the_client_learns_the_window_and_the_policy_reports_it_to_compaction():
    with FakeLLMServer([text("ok")], max_model_len=8192) as server:
        client = LLMClient(cfg_for(server.base_url, context_window=32768))
        policy = LLMPolicy(client, [])
        assert policy.context_window == 32768                 # the configured one until the server says
        client.preflight()
        assert client.context_window == 8192 and policy.context_window == 8192
        policy.context_window = 4096                           # the runner may still set one: the smaller wins
        assert policy.context_window == 4096


def test_a_model_not_served_is_named_with_what_is_served():
    with FakeLLMServer([], served_models=["qwen3:8b", "llama3.1:8b"]) as server:
        with pytest.raises(EndpointUnusable) as err:
            check_endpoint(cfg_for(server.base_url, model="MiniMax-M2"))
    msg = str(err.value)
    assert "'MiniMax-M2' is not served" in msg and "qwen3:8b, llama3.1:8b" in msg and "--model" in msg


def test_a_single_model_server_is_used_with_a_warning():
    with FakeLLMServer([], served_models=["SmolLM2-135M-Instruct.gguf"], llamacpp_n_ctx=8192) as server:
        info = check_endpoint(cfg_for(server.base_url, model="MiniMax-M2"))
    assert info.model_listed is False and info.context_window == 8192 and info.owned_by == "llamacpp"
    assert "serves only 'SmolLM2-135M-Instruct.gguf'" in info.warnings[0]


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_key_fails_the_preflight(status):
    with FakeLLMServer([], api_key="right", auth_status=status) as server:
        with pytest.raises(EndpointUnusable, match="OPENAI_API_KEY"):
            check_endpoint(cfg_for(server.base_url, api_key="wrong"))
    assert len(server.requests) == 1


def test_a_server_without_a_models_route_is_a_warning_not_a_failure():
    with FakeLLMServer([]) as server:
        info = check_endpoint(cfg_for(server.base_url + "/other"))   # /v1/other/models: 404
    assert info.models is None and info.model_listed is None and "no /models route" in info.warnings[0]


def test_nothing_listening_is_endpoint_down_in_well_under_a_second():
    server = FakeLLMServer([])
    url = server.base_url
    server.stop()
    t0 = time.monotonic()
    with pytest.raises(EndpointDown, match="does not answer .*is the server running"):
        check_endpoint(cfg_for(url))
    assert time.monotonic() - t0 < 1


def test_a_hung_server_is_endpoint_down_within_the_timeout():
    with FakeLLMServer([]) as server:
        server.outage("hang")
        t0 = time.monotonic()
        with pytest.raises(EndpointDown, match="timeout"):
            check_endpoint(cfg_for(server.base_url), timeout_s=0.5)
        assert time.monotonic() - t0 < 3
        server.restore()


def test_a_server_erroring_is_endpoint_down():
    with FakeLLMServer([]) as server:
        server.outage("503", retry_after=30)
        with pytest.raises(EndpointDown) as err:
            check_endpoint(cfg_for(server.base_url))
    assert err.value.status_code == 503 and err.value.retry_after_s == 30


def test_a_host_that_does_not_exist_is_unusable():
    with pytest.raises(EndpointUnusable, match="does not resolve"):
        check_endpoint(cfg_for("http://no-such-host.invalid:8000/v1"))


def test_no_endpoint_configured_fails_the_preflight_before_any_network():
    with pytest.raises(EndpointUnusable, match="OPENAI_BASE_URL"):
        check_endpoint(LLMConfig.from_env())


def test_info_is_json_able():
    import json

    with FakeLLMServer([], max_model_len=4096) as server:
        info = check_endpoint(cfg_for(server.base_url))
    d = json.loads(json.dumps(info.to_dict()))
    assert d["context_window"] == 4096 and d["model"] == "MiniMax-M2" and d["base_url"] == server.base_url
