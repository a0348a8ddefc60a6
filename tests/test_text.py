"""Cleaning Vosk's Mandarin output, numbers as digits, and the display script."""

from __future__ import annotations

import pytest

from transcripts import text


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("我 姓 王 三 栋 二 单元 五 零 一", "我姓王三栋二单元五零一"),
        ("  喂   你好  ", "喂你好"),
        ("我 家 wifi 坏 了", "我家 wifi 坏了"),  # spaces kept around Latin words
        ("my   name is  Mr Smith", "my name is Mr Smith"),
        ("", ""),
    ],
)
def test_spaces_between_chinese_characters_are_dropped(raw: str, clean: str) -> None:
    assert text.clean(raw) == clean


@pytest.mark.parametrize(
    ("clean", "numeric"),
    [
        ("三栋二单元五零一", "3栋2单元501"),  # room said digit by digit
        ("七栋二单元八百零三", "7栋2单元803"),  # room said as a number
        ("二十二栋一单元三零五", "22栋1单元305"),
        ("一单元幺零二", "1单元102"),  # 幺 for one
        ("电话幺三八一二三四五六七八", "电话13812345678"),
        ("打零二一六二三四五六七八", "打02162345678"),  # a leading 零 is kept
        ("明天下午三点半", "明天下午3点半"),
        ("没有数字", "没有数字"),
        ("五杠二杠五零一", "5-2-501"),  # 杠 said between numbers is a dash
        ("我杠了", "我杠了"),
    ],
)
def test_spoken_numbers_become_digits(clean: str, numeric: str) -> None:
    assert text.numeric(clean) == numeric


def test_fillers_are_dropped() -> None:
    assert text.strip_fillers("嗯那个就是我家灯啊不亮了") == "我家灯不亮了"
    # for the classifier a hesitation leaves a pause mark where a clause may end
    assert text.strip_fillers("哦不是啊那那个打错了", " ") == "不是 那 打错了"


@pytest.mark.parametrize(
    ("language", "shown"),
    [
        ("zh-TW", "衛生間漏水了，請派師傅來"),
        ("zh-CN", "卫生间漏水了，请派师傅来"),
        ("en", "卫生间漏水了，请派师傅来"),
    ],
)
def test_display_follows_the_readers_script(language: str, shown: str) -> None:
    assert text.for_display("卫生间漏水了，请派师傅来", language) == shown
