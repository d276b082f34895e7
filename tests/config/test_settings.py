"""Settings errors: one line per bad variable, naming it and what it accepts; `.env` from the repo root."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from config import ENV_FILE, PACKAGE_ROOT, ConfigError, Settings, load_settings

ROOT = Path(__file__).resolve().parents[2]


def problems(monkeypatch: pytest.MonkeyPatch, **env: str) -> tuple[str, ...]:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        load_settings(_env_file=None)
    return caught.value.problems


@pytest.mark.parametrize(
    ("variable", "value", "accepts"),
    [
        ("POLICYQA_RATE_LIMIT", "abc", "a whole number >= 0"),
        ("POLICYQA_RATE_LIMIT", "-5", "a whole number >= 0"),
        ("POLICYQA_MAX_QUESTION_CHARS", "0", "a whole number >= 1 and <= 10000"),
        ("POLICYQA_MAX_BODY_BYTES", "12", "a whole number >= 1024"),
        ("WECHAT_DEADLINE_SECONDS", "fast", "a number > 0 and <= 4.8"),
        ("POLICYQA_CORS_ORIGINS", "https://a.gov.cn", "a JSON list of strings"),
        ("WECHAT_MENU_KEYS", '{"K": 1}', "a JSON object of strings"),
        ("WECHAT_AES_KEY", "short", "43 characters"),
    ],
)
def test_a_bad_value_gives_one_line_naming_the_variable_and_what_it_accepts(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, accepts: str
) -> None:
    (line,) = problems(monkeypatch, **{variable: value})
    assert line.startswith(f"bad setting {variable}") and accepts in line and "\n" not in line


def test_each_bad_variable_gets_its_own_line(monkeypatch: pytest.MonkeyPatch) -> None:
    lines = problems(monkeypatch, POLICYQA_RATE_LIMIT="abc", POLICYQA_MAX_BODY_BYTES="1")
    assert sorted(line.split(":")[0].split("=")[0] for line in lines) == [
        "bad setting POLICYQA_MAX_BODY_BYTES",
        "bad setting POLICYQA_RATE_LIMIT",
    ]


def test_text_settings_are_not_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    # Text values may be secrets (keys, tokens): the line names the variable, never the value.
    number, secret = sorted(problems(monkeypatch, WECHAT_AES_KEY="s3cret-value", POLICYQA_RATE_LIMIT="abc"))
    assert secret.startswith("bad setting WECHAT_AES_KEY:") and "s3cret" not in secret
    assert "'abc'" in number  # a number is safe to show back


def test_dotenv_is_read_from_the_repository_root_not_the_working_directory(tmp_path: Path) -> None:
    assert Path(str(Settings.model_config["env_file"])) == ENV_FILE == PACKAGE_ROOT / ".env"
    (tmp_path / ".env").write_text("POLICYQA_RATE_LIMIT=7\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLICYQA_")}
    probe = "from config import load_settings; print(load_settings().rate_limit_per_minute)"
    shown = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if not ENV_FILE.exists():  # a developer's own .env may set it; CI has none
        assert shown == "120"


def test_choices_and_rules_across_settings_read_plainly() -> None:
    from typing import Literal

    from pydantic import BaseModel, ValidationError, model_validator
    from pydantic.fields import FieldInfo

    from config.settings import accepted_values, describe_validation_error

    assert accepted_values(FieldInfo.from_annotation(Literal["plain", "compat", "safe"])) == (
        "one of plain, compat, safe"
    )

    class Pair(BaseModel):
        mode: str = "safe"
        key: str | None = None

        @model_validator(mode="after")
        def _needs_key(self) -> Pair:
            if self.mode == "safe" and not self.key:
                raise ValueError("WECHAT_ENCRYPT_MODE=safe needs WECHAT_AES_KEY")
            return self

    with pytest.raises(ValidationError) as caught:
        Pair()
    assert describe_validation_error(caught.value) == [
        "bad settings: WECHAT_ENCRYPT_MODE=safe needs WECHAT_AES_KEY"
    ]


def test_an_empty_value_means_not_set(monkeypatch: pytest.MonkeyPatch) -> None:
    # `POLICYQA_QUERY_LOG=` once made the query log the working directory and crashed `serve` at start.
    empty = ("POLICYQA_QUERY_LOG", "POLICYQA_CORPUS", "POLICYQA_RATE_LIMIT", "REDIS_URL", "WECHAT_AES_KEY")
    for name in empty:
        monkeypatch.setenv(name, "")
    settings = load_settings(_env_file=None)
    defaults = Settings.model_fields
    assert settings.query_log is None and settings.redis_url is None and settings.wechat_aes_key is None
    assert settings.corpus == defaults["corpus"].default
    assert settings.rate_limit_per_minute == defaults["rate_limit_per_minute"].default
