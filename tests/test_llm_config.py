"""LLMConfig: arguments > environment > config file (YAML or TOML) > defaults, and clear errors."""

from __future__ import annotations

import pytest

from agent.llm import LLMConfig
from common.errors import UserError

ENV = ("OPENAI_BASE_URL", "OPENAI_API_KEY", "EVOFORGE_MODEL", "EVOFORGE_LLM_CONFIG")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))      # no ~/.config/evoforge/llm.yaml of the user


def test_defaults():
    cfg = LLMConfig.from_env()
    assert cfg.model == "MiniMax-M2" and cfg.base_url is None and cfg.source == "defaults"
    assert cfg.input_price_per_mtok == 0.0 and cfg.max_retries >= 1


def test_precedence_arguments_over_env_over_file(monkeypatch, tmp_path):
    f = tmp_path / "llm.yaml"
    f.write_text("model: from-file\nbase_url: http://file/v1\napi_key: file-key\n"
                 "input_price_per_mtok: 0.3\noutput_price_per_mtok: 1.2\nmax_retries: 2\n")
    cfg = LLMConfig.from_env(config_file=f)
    assert (cfg.model, cfg.base_url, cfg.api_key, cfg.max_retries) == ("from-file", "http://file/v1", "file-key", 2)
    monkeypatch.setenv("OPENAI_BASE_URL", "http://env/v1")
    monkeypatch.setenv("EVOFORGE_MODEL", "from-env")
    cfg = LLMConfig.from_env(config_file=f)
    assert (cfg.model, cfg.base_url, cfg.api_key) == ("from-env", "http://env/v1", "file-key")
    cfg = LLMConfig.from_env(model="from-arg", config_file=f, backoff_base_s=0.1)
    assert cfg.model == "from-arg" and cfg.base_url == "http://env/v1" and cfg.backoff_base_s == 0.1
    assert cfg.input_price_per_mtok == 0.3 and str(f) in cfg.source


def test_default_file_location_and_toml_with_model_table(monkeypatch, tmp_path):
    f = tmp_path / "llm.toml"
    f.write_text('[llm]\nbase_url = "http://x/v1"\ninput_price_per_mtok = 1.0\n'
                 '[llm.models.MiniMax-M2]\ninput_price_per_mtok = 0.3\noutput_price_per_mtok = 1.2\n'
                 '[llm.models.other]\ninput_price_per_mtok = 5.0\n')
    monkeypatch.setenv("EVOFORGE_LLM_CONFIG", str(f))
    cfg = LLMConfig.from_env()
    assert cfg.base_url == "http://x/v1" and (cfg.input_price_per_mtok, cfg.output_price_per_mtok) == (0.3, 1.2)
    assert LLMConfig.from_env(model="other").input_price_per_mtok == 5.0
    assert LLMConfig.from_env(model="unlisted").input_price_per_mtok == 1.0


def test_home_config_is_read(tmp_path):
    cfg_dir = tmp_path / "home" / ".config" / "evoforge"
    cfg_dir.mkdir(parents=True)
    (cfg_dir / "llm.yaml").write_text("base_url: http://home/v1\n")
    assert LLMConfig.from_env().base_url == "http://home/v1"


@pytest.mark.parametrize("text,match", [
    ("modle: typo\n", "unknown LLM config key"),
    ("max_retries: -1\n", "max_retries"),
    ("read_timeout_s: soon\n", "read_timeout_s"),
    ("- a\n- b\n", "mapping"),
    ("model: [unclosed\n", "not valid YAML: line 2, column 1"),
    ("context_window: 0\n", "context_window"),
    ("context_window: lots\n", "context_window"),
    ("retry_window_s: -5\n", "retry_window_s"),
    ("base_url: localhost:8000\n", "write it like http://localhost:8000/v1"),
])
def test_bad_config_is_a_user_error(tmp_path, text, match):
    f = tmp_path / "llm.yaml"
    f.write_text(text)
    with pytest.raises(UserError, match=match):
        LLMConfig.from_env(config_file=f)


def test_missing_named_config_file_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        LLMConfig.from_env(config_file=tmp_path / "nope.yaml")


def test_public_dict_hides_the_key():
    d = LLMConfig.from_env(api_key="sk-secret").to_public_dict()
    assert d["api_key"] == "***" and "sk-secret" not in str(d)


@pytest.mark.parametrize("name,data,match", [
    ("llm.yaml", b"model: MiniMax-M2\nbase_url: http://x/v1\n  bad: indent\n", r"not valid YAML: line 3, column \d+"),
    ("llm.yaml", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not a text file"),
    ("llm.yaml", b"model: caf\xe9\nbase_url: x\n", "not UTF-8 text \\(line 1\\)"),
    ("llm.yaml", b"model: a\n\nbase_url: \xff\n", "not UTF-8 text \\(line 3\\)"),
    ("llm.toml", b'model = "a"\nbase_url = http://x/v1\n', "not valid TOML: .*line 2"),
])
def test_a_broken_config_file_is_one_line_naming_the_line(tmp_path, name, data, match):
    f = tmp_path / name
    f.write_bytes(data)
    with pytest.raises(UserError, match=match) as err:
        LLMConfig.from_env(config_file=f)
    assert "\n" not in str(err.value) and str(f) in str(err.value)
