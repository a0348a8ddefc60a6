"""The text step before synthesis (ivr/speech_text.py): numbers as a clerk says
them on the phone, and the pinyin the cmn-latn-pinyin voice is given."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotline.errors import ConfigError
from ivr.prompts import READINGS
from ivr.speech_text import (
    digits,
    load_readings,
    say_numbers,
    spoken,
    time_words,
    to_pinyin,
)


@pytest.mark.parametrize(
    ("text", "said"),
    [
        # 报号: a job number digit by digit; 八千零一 is heard as 8100.
        ("8001号话务员为您服务", "八零零一号话务员为您服务"),
        ("1023号话务员", "一零二三号话务员"),
        ("工号0815", "工号零八一五"),
        # Opening hours (content: 08:00-18:00 -> 08:00至18:00), as words.
        ("服务时间为08:00至18:00。", "服务时间为早上八点至晚上六点。"),
        ("12:30", "中午十二点半"),
        ("09:15至17:45", "上午九点十五分至下午五点四十五分"),
        ("13:05", "下午一点零五分"),
        ("02:00", "凌晨两点"),
        ("00:00至24:00", "凌晨零点至晚上十二点"),
        # Reply hours and other quantities as cardinals, 两 for 2 before a measure word.
        ("在8小时内给您答复", "在八小时内给您答复"),
        ("在24小时内", "在二十四小时内"),
        ("在2小时内", "在两小时内"),
        ("3.5元", "三点五元"),
        ("50%", "百分之五十"),
        # Buildings and units: cardinals before the measure word, room numbers digit by digit.
        ("3栋2单元501", "三栋二单元五零一"),
        ("12号楼", "十二号楼"),
        ("2024年3月5日", "二零二四年三月五日"),
        # Menu keys one by one.
        ("报修请按1，人工服务请按0，结束请按#", "报修请按一，人工服务请按零，结束请按井号"),
        ("Nothing to say 没有数字", "Nothing to say 没有数字"),
    ],
)
def test_numbers_are_written_as_they_are_said(text: str, said: str) -> None:
    assert say_numbers(text) == said


@pytest.mark.parametrize(
    ("text", "yao", "yi"),
    [
        (
            "紧急情况请拨打13800138000",
            "紧急情况请拨打幺三八零零幺三八零零零",
            "紧急情况请拨打一三八零零一三八零零零",
        ),
        (
            "电话：0755-12345678",
            "电话：零七五五，幺二三四五六七八",
            "电话：零七五五，一二三四五六七八",
        ),
        ("报警请拨打110", "报警请拨打幺幺零", "报警请拨打一一零"),
        (
            "号码是 138 0013 8000",
            "号码是 幺三八，零零幺三，八零零零",
            "号码是 一三八，零零一三，八零零零",
        ),
    ],
)
def test_phone_numbers_are_said_digit_by_digit_with_the_sites_one(
    text: str, yao: str, yi: str
) -> None:
    assert say_numbers(text, phone_one="幺") == yao
    assert say_numbers(text, phone_one="一") == yi
    # A job number keeps 一 whatever the site says in phone numbers.
    assert say_numbers("8001号", phone_one="幺") == "八零零一号"


def test_digits_and_time_words_directly() -> None:
    assert digits("8001") == "八零零一"
    assert digits("110", one="幺") == "幺幺零"
    assert time_words(8, 0) == "早上八点"
    assert time_words(18, 0) == "晚上六点"
    assert time_words(11, 30) == "上午十一点半"
    with pytest.raises(ValueError, match="not a time of day: 25:00"):
        time_words(25, 0)


def test_pinyin_takes_each_reading_from_its_word() -> None:
    readings = load_readings(READINGS)
    cases = {
        "银行": "yin2 hang2",
        "不行": "bu4 xing2",
        "重新": "chong2 xin1",
        "重要": "zhong4 yao4",
        "队长": "dui4 zhang3",
        "长度": "chang2 du4",
        "号码": "hao4 ma3",
        "单元": "dan1 yuan2",
        "还是": "hai2 shi4",
        "为您服务": "wei4 nin2 fu2 wu4",
        # pypinyin alone reads 人为 (man-made) here; config/voice/readings.toml corrects it.
        "派人为您维修": "pai4 ren2 wei4 nin2 wei2 xiu1",
        "服务时间为": "fu2 wu4 shi2 jian1 wei2",
        "第一时间": "di4 yi1 shi2 jian1",
        "请您再选择一次": "qing3 nin2 zai4 xuan3 ze2 yi2 ci4",
        # 不 before a fourth tone is said bu2.
        "不是": "bu2 shi4",
        "不用": "bu2 yong4",
        "不好": "bu4 hao3",
    }
    got = {text: to_pinyin(text, readings) for text in cases}
    assert got == cases
    assert to_pinyin("派人为您维修") == "pai4 ren2 wei2 nin2 wei2 xiu1"  # why the reading is there


def test_pinyin_keeps_the_pauses_of_the_punctuation() -> None:
    assert to_pinyin("您好，幸福家园。请问？") == "nin2 hao3, xing4 fu2 jia1 yuan2. qing3 wen4?"
    assert to_pinyin("好的、谢谢！", {"谢谢": "xie4 xie5"}) == "hao3 de5, xie4 xie5!"


def test_the_voice_decides_between_pinyin_and_characters() -> None:
    assert spoken("8001号", "cmn-latn-pinyin") == "ba1 ling2 ling2 yi1 hao4"
    # A voice that reads characters itself (espeak-ng >= 1.52's cmn) gets the numbers in words.
    assert spoken("8001号", "cmn") == "八零零一号"


def test_a_wrong_reading_is_refused_naming_the_file_and_phrase(tmp_path: Path) -> None:
    path = tmp_path / "readings.toml"
    path.write_text('[readings]\n"为您" = "wei4"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"readings.toml: readings.为您 = 'wei4': give one"):
        load_readings(path)
    path.write_text('[readings]\n"为您" = "wei nin2"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="tone"):
        load_readings(path)
    path.write_text('"为您" = "wei4 nin2"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"a \[readings\] table"):
        load_readings(path)
    # The shipped file is kept as it is and loads.
    assert load_readings(READINGS)["为您"] == "wei4 nin2"
