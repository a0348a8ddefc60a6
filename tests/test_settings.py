"""Settings layering and the one-line errors for wrong settings."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from hotline.content import load_content
from hotline.errors import ConfigError
from hotline.settings import CONFIG_DIR, Settings, load_settings

EXAMPLE = CONFIG_DIR / "hotline.example.toml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "hotline.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_any_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    loaded = load_settings(environ={"HOME": str(tmp_path)})
    assert loaded.config_file is None
    assert loaded.settings == Settings()
    assert loaded.settings.ringing.answer_after_rings == 2
    assert loaded.settings.database_url == f"sqlite:///{(tmp_path / 'var/hotline.db').resolve()}"


def test_the_example_documents_every_setting_with_its_default() -> None:
    data = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    assert set(data) == set(Settings.model_fields)
    for section, field in Settings.model_fields.items():
        assert field.annotation is not None
        assert set(data[section]) == set(field.annotation.model_fields), section
    assert load_settings(EXAMPLE, environ={}).settings == Settings()


def test_layers_file_then_environment_then_flags(tmp_path: Path) -> None:
    path = write(
        tmp_path, '[sip]\nmax_calls = 5\nlisten = "127.0.0.1:5070"\n[agent]\njob_number = "1023"\n'
    )
    environ = {"HOTLINE_SIP_MAX_CALLS": "7", "HOTLINE_SIP_TRUSTED": "10.0.0.0/8, 127.0.0.1/32"}
    flags = {"sip": {"listen": ("127.0.0.1:5080", "--sip")}}
    loaded = load_settings(path, flags, environ)
    s = loaded.settings
    assert (s.sip.max_calls, s.sip.listen, s.agent.job_number) == (7, "127.0.0.1:5080", "1023")
    assert s.sip.trusted == ["10.0.0.0/8", "127.0.0.1/32"]
    assert loaded.sources["sip.max_calls"] == "environment variable HOTLINE_SIP_MAX_CALLS"
    assert loaded.sources["sip.listen"] == "--sip"
    assert loaded.sources["agent.job_number"] == str(path)


def test_config_found_through_the_environment_variable(tmp_path: Path) -> None:
    path = write(tmp_path, '[organization]\nname = "绿城物业"\n')
    assert (
        load_settings(environ={"HOTLINE_CONFIG": str(path)}).settings.organization.name
        == "绿城物业"
    )


def test_false_in_the_environment_is_false(tmp_path: Path) -> None:
    environ = {"HOTLINE_ADMIN_SECURE_COOKIES": "false", "HOTLINE_DATABASE_ECHO": "0"}
    s = load_settings(write(tmp_path, ""), environ=environ).settings
    assert s.admin.secure_cookies is False and s.database.echo is False


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[sip]\nmax_cals = 5\n", "sip.max_cals in {path}: unknown setting"),
        ("[sipp]\nmax_calls = 5\n", "sipp in {path}: unknown setting"),
        ('[sip]\nmax_calls = "many"\n', "sip.max_calls in {path}: Input should be a valid integer"),
        (
            "[ringing]\nanswer_after_rings = 4\n",
            "ringing.answer_after_rings in {path}: Value error, the desk must answer within three rings",
        ),
        (
            '[sip]\ntrusted = ["10.0.0.300/8"]\n',
            "sip.trusted in {path}: Value error, '10.0.0.300/8' is not a CIDR network",
        ),
        ('[sip]\nlisten = "5060"\n', "sip.listen in {path}: Value error, expected HOST:PORT"),
        (
            '[organization]\ntimezone = "Mars/Olympus"\n',
            "organization.timezone in {path}: Value error, unknown time zone",
        ),
        (
            "[sip]\nrtp_port_low = 30000\nrtp_port_high = 20000\n",
            "rtp_port_low must be below rtp_port_high",
        ),
        ('sip = "x"\n', "{path}: [sip] must be a table"),
        (
            '[agent]\ntts_phone_one = "yao"\n',
            "agent.tts_phone_one in {path}: Input should be '幺' or '一' (got 'yao')",
        ),
        ("[sip\nmax_calls = 5\n", "{path}: not valid TOML"),
    ],
)
def test_wrong_settings_name_the_key_and_the_file(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_settings(path, environ={})
    assert message.format(path=path) in str(info.value)
    assert "\n" not in str(info.value)


def test_wrong_environment_variables_are_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="environment variable HOTLINE_SIPP_X: no such setting"):
        load_settings(write(tmp_path, ""), environ={"HOTLINE_SIPP_X": "1"})
    with pytest.raises(
        ConfigError, match="sip.max_calls in environment variable HOTLINE_SIP_MAX_CALLS"
    ):
        load_settings(write(tmp_path, ""), environ={"HOTLINE_SIP_MAX_CALLS": "0"})


def test_a_missing_config_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope.toml does not exist \(given with --config\)"):
        load_settings(tmp_path / "nope.toml", environ={})


def test_scripts_are_rendered_with_the_organisation_and_job_number() -> None:
    content = load_content(Settings())
    greeting = content.prompt("greeting")
    assert greeting.startswith("您好，幸福家园物业服务中心，8001号")
    assert greeting.endswith("为您服务。")  # the offer of help; the key menu follows
    assert "十分钟内" in content.closing("repair")
    assert "8小时内" in content.closing("complaint")
    for text in [*content.script.prompts.values(), *content.script.closing.values()]:
        assert not content.compliance.forbidden_in(text)


@pytest.mark.parametrize(
    ("greeting", "phrase"),
    [
        ("喂，您好，", "喂"),
        # Judged as the audit judges staff: a degree word inside the phrase is still it.
        ("您好，这个我们没有办法，", "没办法"),
    ],
)
def test_a_script_with_a_forbidden_phrase_is_refused(
    tmp_path: Path, greeting: str, phrase: str
) -> None:
    config_dir = tmp_path / "config"
    (config_dir / "scripts").mkdir(parents=True)
    (config_dir / "rules").mkdir()
    for name in ("rules/categories.toml", "rules/compliance.toml"):
        (config_dir / name).write_bytes((CONFIG_DIR / name).read_bytes())
    script = (CONFIG_DIR / "scripts/zh-CN.toml").read_text(encoding="utf-8")
    (config_dir / "scripts/zh-CN.toml").write_text(
        script.replace('greeting = "您好，', f'greeting = "{greeting}'), encoding="utf-8"
    )
    with pytest.raises(
        ConfigError, match=rf"prompts.greeting contains the forbidden phrase\(s\) \['{phrase}'\]"
    ):
        load_content(Settings(), config_dir)


def test_the_deadlines_come_from_the_seeds() -> None:
    rules = load_content(Settings()).categories
    assert rules.by_key("repair").reply_within_minutes == 10  # 1.4.5 十分钟内答复
    assert rules.by_key("repair").follow_up_days == 7  # 1.4.3.6.2 一星期之内回访
    assert rules.urgency["safety"].follow_up_days == 2  # 安全设施维修两天内回访
    assert rules.urgency["leak"].follow_up_days == 3  # 漏水项目维修三天内回访
    assert rules.by_key("complaint").reply_within_minutes == 8 * 60  # 1.4.4.3 8小时内答复
    assert rules.by_key("complaint").follow_up_days == 3  # 补救最长不应超过三天
