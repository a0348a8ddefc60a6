"""The flow as data: loading and refusing config/flows/*.toml, the script's wording on
every path, and the runner's seams (real timer thread, clerk URIs)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from hotline.content import Content, load_content
from hotline.errors import ConfigError
from hotline.settings import CONFIG_DIR, Settings, SipSettings
from ivr.flow import CallContext, CallFlow
from ivr.flow_config import FlowConfig, load_flow
from ivr.flow_events import Answered, Digit, HangUp, Play
from ivr.flow_fake import FakeMedia
from ivr.flow_runner import FlowRunner, clerk_uri
from ivr.flow_timers import ThreadScheduler
from tests.support.flow import CLERKS, SimulatedCall


@pytest.fixture(scope="module")
def content() -> Content:
    return load_content(Settings())


@pytest.fixture(scope="module")
def flow(content: Content) -> FlowConfig:
    return load_flow(Settings(), content)


def site_config(tmp_path: Path, edit: Callable[[str, str], tuple[str, str]]) -> Path:
    """A copy of config/ with the script and the flow changed by `edit`."""
    config_dir = tmp_path / "config"
    for name in ("rules/categories.toml", "rules/compliance.toml"):
        (config_dir / name).parent.mkdir(parents=True, exist_ok=True)
        (config_dir / name).write_bytes((CONFIG_DIR / name).read_bytes())
    script = (CONFIG_DIR / "scripts/zh-CN.toml").read_text(encoding="utf-8")
    flow = (CONFIG_DIR / "flows/default.toml").read_text(encoding="utf-8")
    script, flow = edit(script, flow)
    for name, text in (("scripts/zh-CN.toml", script), ("flows/default.toml", flow)):
        (config_dir / name).parent.mkdir(parents=True, exist_ok=True)
        (config_dir / name).write_text(text, encoding="utf-8")
    return config_dir


def load_site(config_dir: Path) -> FlowConfig:
    settings = Settings()
    return load_flow(settings, load_content(settings, config_dir), config_dir)


def test_the_default_flow_is_the_seeds_script(flow: FlowConfig) -> None:
    assert {k: c.category or c.action for k, c in flow.menu.choices.items()} == {
        "1": "repair",
        "2": "complaint",
        "3": "inquiry",
        "0": "person",
    }
    assert (flow.menu.retries, flow.menu.fallback, flow.message.stop_digit) == (1, "0", "#")
    assert list(flow.after_hours.menu.choices) == ["9"]
    assert Settings().content.flow == "flows/default.toml"


@pytest.mark.parametrize(
    ("prompt", "phrase"),
    [
        ("no_input", "喂"),
        ("transfer_on_call", "不知道"),
        ("on_call_unavailable", "没办法"),
        ("whisper_on_call", "不清楚"),
    ],
)
def test_a_new_prompt_with_a_forbidden_phrase_is_refused(
    tmp_path: Path, prompt: str, phrase: str
) -> None:
    def edit(script: str, flow: str) -> tuple[str, str]:
        return script.replace(f'{prompt} = "', f'{prompt} = "{phrase}，'), flow

    with pytest.raises(ConfigError, match=rf"prompts.{prompt} contains the forbidden phrase"):
        load_site(site_config(tmp_path, edit))


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            'prompt = "menu"',
            'prompt = "menu2"',
            "menu.prompt names the prompt 'menu2', not in the script",
        ),
        (
            '"3" = { action = "message", category = "inquiry" }',
            '"3" = { action = "message", category = "parking" }',
            "menu.choices.3.category names the unknown category 'parking'",
        ),
        (
            '"3" = { action = "message", category = "inquiry" }',
            '"3" = { action = "message" }',
            "a 'message' choice needs a category",
        ),
        ('"3" = {', '"x" = {', "'x' is not a telephone key"),
        ('fallback = "0"', 'fallback = "4"', "fallback '4' is not one of the choices"),
        ("timeout_s = 6.0", "timeout_s = 0", "menu.timeout_s: Input should be greater than 0"),
        ('stop_digit = "#"', 'stop_digit = "end"', "'end' is not a telephone key"),
        (
            'closing = "bridged"\n\n[after_hours]',
            'closing = "farewell"\n\n[after_hours]',
            "person.closing names 'farewell'",
        ),
        (
            'whisper_default = "人工服务"',
            'whisper_default = "我不管"',
            "person.whisper_default contains the forbidden phrase",
        ),
        (
            "max_s = 120.0",
            "max_s = 120.0\nmax_minutes = 2",
            "message.max_minutes: Extra inputs are not permitted",
        ),
        (
            '"9" = { action = "on_call"',
            '"8" = { action = "on_call"',
            "after_hours.menu.choices has key 8 but the prompt 'after_hours' never says 按8",
        ),
    ],
)
def test_a_wrong_flow_is_refused_naming_the_key_and_file(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    def edit(script: str, flow: str) -> tuple[str, str]:
        assert old in flow
        return script, flow.replace(old, new, 1)

    config_dir = site_config(tmp_path, edit)
    with pytest.raises(ConfigError) as info:
        load_site(config_dir)
    assert str(config_dir / "flows/default.toml") in str(info.value)
    assert message in str(info.value)


def test_an_after_hours_closing_without_goodbye_is_refused(tmp_path: Path) -> None:
    def edit(script: str, flow: str) -> tuple[str, str]:
        return script.replace('谢谢您的来电，再见。"\n# Call', '谢谢您的来电。"\n# Call'), flow

    with pytest.raises(ConfigError, match="after_hours.closing_prompt must end politely"):
        load_site(site_config(tmp_path, edit))


def test_a_missing_flow_file_is_named(tmp_path: Path, content: Content) -> None:
    with pytest.raises(ConfigError, match=r"flows/default.toml: file not found \(content.flow\)"):
        load_flow(Settings(), content, tmp_path)


# ------------------------------------------------- the wording on every path

PATHS: dict[str, tuple[CallContext, list[str | float]]] = {
    "repair": (CallContext(vad=True), ["1", "#"]),
    "complaint": (CallContext(vad=True), ["2", 5.0]),
    "inquiry": (CallContext(vad=True), ["3", 120.0]),
    "invalid-twice": (CallContext(unit="3栋", vad=True), ["7", "7", "busy", "busy", "busy", "#"]),
    "no-key": (CallContext(vad=True), [6.0, 6.0, 20.0, 20.0, 20.0, "#"]),
    "bridged": (CallContext(vad=True), ["0", "answer", "clerk-hangs-up"]),
    "after-hours": (CallContext(after_hours=True, vad=True), [3.0, "#"]),
    "on-call": (CallContext(after_hours=True, vad=True), ["9", 30.0, "#"]),
    "on-call-bridged": (CallContext(after_hours=True, vad=True), ["9", "answer", "clerk-hangs-up"]),
}


def _walk(c: SimulatedCall, steps: list[str | float]) -> None:
    for step in steps:
        if isinstance(step, float):
            c.wait(step)
        elif step == "busy":
            c.media.busy(c.media.ringing_leg())
        elif step == "answer":
            c.media.answer(c.media.ringing_leg())
        elif step == "clerk-hangs-up":
            c.media.hang_up("clerk")
        else:
            c.media.press(step)


@pytest.mark.parametrize("path", list(PATHS))
def test_every_path_is_polite_and_ends_with_thanks_and_goodbye(
    flow: FlowConfig, content: Content, path: str
) -> None:
    context, steps = PATHS[path]
    c = SimulatedCall(flow, content, context=context).answer()
    _walk(c, steps)
    assert c.media.hung_up == "normal clearing" and c.outcome["ended_in"] == "closing"
    said = c.media.texts() + [d[2] for d in c.media.dialled()]
    for text in said:
        assert not content.compliance.forbidden_in(text), text
    assert said[0].startswith("您好，幸福家园物业服务中心")
    last = c.media.texts()[-1]
    assert "谢谢" in last and last.endswith("再见。")


def test_no_forbidden_phrase_in_any_prompt_of_the_default_script(content: Content) -> None:
    texts = [content.prompt(name, category="报修", unit="3栋") for name in content.script.prompts]
    texts += [content.closing(name) for name in content.script.closing]
    assert len(texts) >= 17
    for text in texts:
        assert not content.compliance.forbidden_in(text), text


# ------------------------------------------------------------ runner seams


def test_the_real_timer_thread_drives_a_call_to_its_end(flow: FlowConfig, content: Content) -> None:
    quick = flow.model_copy(
        update={
            "menu": flow.menu.model_copy(update={"timeout_s": 0.05}),
            "person": flow.person.model_copy(update={"ring_timeout_s": 0.05}),
            "message": flow.message.model_copy(update={"silence_s": 0.05}),
        }
    )
    scheduler = ThreadScheduler()
    try:
        media = FakeMedia()
        machine = CallFlow(quick, content, CLERKS[:2], CallContext(vad=True))
        runner = FlowRunner(machine, media, scheduler, label="t1")
        media.runner = runner
        runner.feed(Answered())
        assert runner.done.wait(5.0), media.log
    finally:
        scheduler.close()
    assert media.played()[-4:] == ["clerk_unavailable", "ask_details", "confirm", "closing.default"]
    assert runner.outcome["menu_fallback"] and runner.outcome["message_end"] == "silence"
    assert runner.outcome["responsible_user_id"] == 1


def test_the_timer_thread_runs_only_what_is_not_cancelled() -> None:
    scheduler = ThreadScheduler()
    fired: list[str] = []
    done = threading.Event()
    try:
        scheduler.call_later(0.02, lambda: fired.append("cancelled")).cancel()
        scheduler.call_later(0.01, lambda: fired.append("first"))
        scheduler.call_later(0.03, done.set)
        assert done.wait(5.0)
    finally:
        scheduler.close()
    assert fired == ["first"]


def test_the_machine_alone_returns_actions(flow: FlowConfig, content: Content) -> None:
    machine = CallFlow(flow, content, CLERKS)
    actions = machine.handle(Answered())
    assert isinstance(actions[-1], Play) and actions[-1].prompt_name == "greeting"
    assert not any(isinstance(a, HangUp) for a in actions)


def test_clerk_uris_come_from_the_template() -> None:
    uri = clerk_uri(SipSettings(registrar="127.0.0.1:5060"))
    assert uri("8101") == "sip:8101@127.0.0.1:5060"
    direct = clerk_uri(SipSettings(clerk_uri_template="sip:{extension}@127.0.0.1:5080"))
    assert direct("8102") == "sip:8102@127.0.0.1:5080"
    with pytest.raises(ConfigError, match=r"sip.clerk_uri_template uses \{registrar\}"):
        clerk_uri(SipSettings())


def test_events_from_several_threads_are_taken_one_at_a_time(
    flow: FlowConfig, content: Content
) -> None:
    scheduler = ThreadScheduler()
    runners: list[FlowRunner] = []
    try:
        for n in range(20):
            media = FakeMedia()
            runner = FlowRunner(CallFlow(flow, content, CLERKS), media, scheduler, label=f"c{n}")
            media.runner = runner
            runner.feed(Answered())
            runners.append(runner)

        def press(digits: str) -> None:
            for runner in runners:
                runner.feed(Digit(digits[0]))
                runner.feed(Digit(digits[1]))

        threads = [threading.Thread(target=press, args=(keys,)) for keys in ("1#", "1#")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=10)
        assert all(runner.done.wait(5.0) for runner in runners)
    finally:
        scheduler.close()
    for runner in runners:
        assert runner.outcome["category"] == "repair" and runner.outcome["message_end"] == "digit"
        assert runner.media.hung_up == "normal clearing"  # type: ignore[attr-defined]
