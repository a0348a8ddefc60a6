"""Surname, unit, phone, times and departments from what the caller said."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotline.content import Content, load_content
from hotline.settings import Settings
from tests.labelled_sets import accuracy
from transcripts import addresses, extract, phones, surnames, text

ROOT = Path(__file__).resolve().parent.parent

#: Floors per set at what each measured when first run (held-out2 before round 3 read it,
#: held-out3 after round 3): a floor, not the 0.95 target. The failure names set and field.
FLOORS = {
    "own-imitation-tuning.tsv": {"surname": 0.95, "unit": 0.95, "phone": 0.95},
    "own-imitation-heldout2.tsv": {"surname": 0.96, "unit": 1.0, "phone": 1.0},
    "own-imitation-heldout3.tsv": {"surname": 0.98, "unit": 0.98, "phone": 1.0},
    "own-imitation-heldout4.tsv": {"surname": 0.95, "unit": 0.95, "phone": 1.0},  # read in round 5
    "own-imitation-heldout5.tsv": {"surname": 0.95, "unit": 0.95, "phone": 1.0},  # read in round 6
    "own-imitation-heldout6.tsv": {"surname": 0.95, "unit": 0.95, "phone": 1.0},  # read in round 7
    "own-imitation-heldout7.tsv": {"surname": 0.95, "unit": 0.95, "phone": 0.99},  # read in round 8
    "own-imitation-heldout8.tsv": {"surname": 0.95, "unit": 0.95, "phone": 0.99},  # read in round 9
    "own-imitation-heldout9.tsv": {
        "surname": 0.95,
        "unit": 0.95,
        "phone": 0.99,
    },  # read in round 10
    "own-imitation-heldout10.tsv": {
        "surname": 0.98,
        "unit": 0.98,
        "phone": 0.99,
    },  # read in round 11
    "own-imitation-train1.tsv": {"surname": 0.98, "unit": 0.98, "phone": 0.99},  # read in round 11
}


@pytest.mark.parametrize(
    ("said", "surname"),
    [
        ("我姓王", "王"),
        ("免贵姓欧阳", "欧阳"),
        ("我是五栋的李女士", "李"),
        ("找一下你们经理我是陈先生", "陈"),
        ("姓张弓长张", "张"),
        ("我姓章立早章", "章"),
        ("我姓陈耳东陈", "陈"),
        ("我是木子李李先生", "李"),
        ("司马先生", "司马"),
        ("我是三栋的葛阿姨", "葛"),
        ("维修师傅态度不好", None),
        ("我先生不在家", None),
        ("姓名不方便说", None),
        ("我想表扬你们的保洁刘阿姨", None),  # a staff member, not the caller
        # Round 9: a surname described by its parts; a titled person the caller asks to be
        # told something is someone else.
        ("我姓木 就是木字旁边一个易的杨", "杨"),
        ("我姓米 是麻字下面一个米", "糜"),
        ("你帮我跟收发室的那个赵大爷讲一下", None),
        ("保安王大哥帮了我", None),
        ("我叫王建国三栋的", "王"),  # a full name
        ("我是三栋的李我家灯坏了", "李"),  # named after the address
        ("我是三号楼二门五零一的老张", "张"),
        ("我是三栋的欧阳", "欧阳"),
        ("我是老王三栋的", "王"),
        ("我是十二栋的房东", None),  # 房 is a surname, 房东 is no name
        ("我是三栋的门卫", None),
        ("我是小区的业主", None),
        ("我是十一栋的业主委员会的老杨", "杨"),  # each 的 of the clause is tried
        ("我是六栋的车主", None),
        ("我是六栋的姓傅", "傅"),  # frequent surnames the first list missed
        ("我姓赖", "赖"),
        ("我姓洪", "洪"),
        # Round 5: a third party's surname is not the caller's; the caller's own comes first.
        ("我家楼下姓吴的那家天天吵", None),
        ("房东姓郝他电话打不通", None),
        ("隔壁姓汪的邻居在楼道堆东西我姓彭", "彭"),
        ("捡到的手机失主是三栋的姓童", None),
        ("我姓白不对不对我姓柏", "柏"),  # a slip corrected: the last one counts
        ("麻烦跟物业的孙阿姨说一声", None),  # staff, with 的 between
        ("我是租户业主姓贝", "贝"),
        ("我这边是某某装修公司的业务经理小韩", "韩"),  # a title before the name
        # Round 6: the surname said after a correction; someone the caller talks about
        # (a nanny, a friend) is not the caller; 老/小 after where the caller is from, and the
        # one who is looking for a colleague, name the caller.
        ("我姓高呃不对姓郜", "郜"),
        ("我姓庄说错了我姓寇", "寇"),
        ("我家钟点工姓齐她明天来", None),
        ("我朋友姓蒙想租你们小区的房子", None),
        ("我是搬家公司的小聂", "聂"),
        ("跟他说一下九栋的老骆找他", "骆"),
        # Round 7: after 姓 any character is a name, rare ones too; 老百姓 and 姓什么 are not.
        ("我姓禚住三栋", "禚"),
        ("三栋的业主姓笪", "笪"),
        ("我们老百姓的事谁管", None),
        ("你问我姓什么", None),
        # Round 10: compound surnames the list lacked are read whole.
        ("我姓公冶住六栋", "公冶"),
        ("免贵姓淳于", "淳于"),
        ("十栋的闻人女士", "闻人"),
        # Round 11: the rest of the Hundred Family compounds; a surname told by a word that
        # holds it after a denial; a place of the caller's is no name; staff of a team; rare
        # surnames said after 老.
        ("我姓司寇 住十栋", "司寇"),
        ("八栋的颛孙先生", "颛孙"),
        ("我姓张 不是弓长张 是立早章的章", "章"),
        ("免贵姓常 不是那个常 是长城的长", "长"),
        ("我是九号楼的车库在负二层", None),
        ("我是三号楼的储物间漏了", None),
        ("麻烦跟绿化组的周阿姨说一声", None),
        ("我是物业公司保安部的高大哥", None),
        ("我是楼委会的老蒯", "蒯"),
    ],
)
def test_surnames(said: str, surname: str | None) -> None:
    assert surnames.surname(said) == surname


@pytest.mark.parametrize(
    ("said", "unit"),
    [
        ("三栋二单元五零一", "3栋2单元501"),
        ("十二号楼一单元七百零二", "12栋1单元702"),
        ("五幢三零二室", "5栋302"),
        ("十一座二单元五百零一", "11栋2单元501"),
        ("四号楼三单元幺幺零二", "4栋3单元1102"),
        ("三栋一单元二零二号", "3栋1单元202"),
        ("十二栋", "12栋"),
        ("二单元", "2单元"),
        ("我家在六零三室", "603室"),
        ("明天三点", None),
        ("五杠二杠五零一", "5栋2单元501"),  # building-unit-room said with dashes
        ("住5-2-501", "5栋2单元501"),
        ("三号楼二门五零一", "3栋2单元501"),  # 门 for 单元, straight after the building
        ("三号楼二单元门口", "3栋2单元"),
        ("七栋一单元九楼九零二", "7栋1单元902"),  # the floor said before the room
        ("十五栋三单元二十楼的两千零三", "15栋3单元2003"),
        # Round 6: a building or unit said after a correction replaces the one before.
        ("六栋一单元哦不对三单元四零二", "6栋3单元402"),
        ("登记成九栋了其实是十九栋二单元", "19栋2单元"),
        ("七栋二单元说错了八栋二单元五零一", "8栋2单元501"),
        # Round 7: the top floor before the room; a room restated after a correction; a
        # building named as a landmark is not the caller's home.
        ("九栋二单元顶楼一七零二", "9栋2单元1702"),
        ("五栋一单元六零一不对是六零二", "5栋1单元602"),
        ("在七号楼旁边的垃圾站那里", None),
        ("我住八栋三单元就在七号楼后面", "8栋3单元"),
        # Round 8: a building followed by 门口 is a place; 不是 between a building and a
        # number corrects it; a room said as 我家是… away from the building.
        ("垃圾站在五号楼门口我住七号楼", "7栋"),
        ("我在八栋二单元楼下等着我家是七零三", "8栋2单元703"),
        ("我家是三栋的", "3栋"),  # 我家是 before a building names no room
        # Round 9: a room said on its floor before the building, its last digit not taken
        # into the building's number; a building said twice over is "one by one"; a
        # parking space's level is no floor of a home.
        ("就住三楼三零一 二十六号楼一单元", "26栋1单元301"),
        ("保洁一栋一栋挨着扫的", None),
        ("我的车位在负二层一零八 住五栋", "5栋"),
        # Round 11: the room said first (我是七零二 在…); a relative's building, a landlord's
        # flat and a delivery's address are no home of the caller's.
        ("我是七零二 在九号楼三单元", "9栋3单元702"),
        ("我外婆一个人住在十五号楼", None),
        ("我外婆住十五号楼 我家是三栋二单元", "3栋2单元"),
        ("我是六栋一单元四零一的房东", None),
        ("我是送桶装水的 客户是八号楼的", None),
        ("我是快递小哥 件上写的十二栋", None),
    ],
)
def test_units(said: str, unit: str | None) -> None:
    assert addresses.unit(text.numeric(said)) == unit


@pytest.mark.parametrize(
    ("said", "unit", "neighbour"),
    [
        # Real estates' addresses, as residents give them (corpus/lines/resident-web.tsv) and
        # the recogniser writes them: letter buildings, phases and districts, 号楼/幢/座,
        # a floor and a room.
        ("我 住 C栋 一 单元 五 零 一", "C栋1单元501", None),
        ("我 是 D10栋 一 零 二 的", "D10栋102", None),
        ("d 十 栋 一 零 二", "D10栋102", None),
        ("小区 B 座 八 楼 的 业主", "B栋", None),
        ("新区 A 五 号楼 一 单元 电梯 坏 了", "A5栋1单元", None),
        ("我 是 二 期 十五 栋 三 单元 的", "2期15栋3单元", None),
        ("南区 五 栋 三 零 二", "南区5栋302", None),
        ("B区 二 栋 一 单元", "B区2栋1单元", None),
        ("三 幢 二 单元 五 零 一", "3栋2单元501", None),
        ("七 号楼 十二 楼 一 二 零 三 室", "7栋1203", None),
        ("我 家 在 十二 楼 一 二 零 三 室", "1203室", None),
        # A neighbour's unit is the subject of the call, never written as the caller's home.
        ("我 住 三 栋 一 单元 一 四 零 二 楼上 一 五 零 二 天天 漏水", "3栋1单元1402", "1502室"),
        ("隔壁 三 栋 五 零 二 天天 装修", None, "3栋502"),
        ("楼上 一 五 零 二 的 邻居 天天 跺脚 我 是 三 栋 的", "3栋", "1502室"),
        ("我 家 楼上 一 五 零 二 漏水 了 我 是 三 栋 一 四 零 二", "3栋1402", "1502室"),
        ("我 住 他 家 楼上 十四 号楼 一 单元 二 零 一", "14栋1单元201", None),  # the caller's
    ],
)
def test_real_address_forms(said: str, unit: str | None, neighbour: str | None) -> None:
    clean = text.clean(said)
    found = extract.extract(clean, text.numeric(text.strip_fillers(clean)))
    assert (found.unit, found.neighbour_unit) == (unit, neighbour)


def test_the_residents_units_are_read() -> None:
    """Unit exact on the residents' own words (corpus/lines/resident-web.tsv; 0.970 before the
    letter buildings and 期/区 were read, 0.985 after)."""
    rows = [
        line.split("\t")
        for line in (ROOT / "corpus" / "lines" / "resident-web.tsv").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    right = 0
    for parts in rows:
        clean = text.clean(parts[0])
        found = extract.extract(clean, text.numeric(text.strip_fillers(clean)))
        right += (found.unit or "-") == parts[4]
    assert right / len(rows) >= 0.98


@pytest.mark.parametrize(
    ("said", "unit"),
    [
        # Round 8: a hesitation, then 不是 and a number, takes back the building just said;
        # without the hesitation 不是 denies what follows it.
        ("我是二十 号楼 哦 不是 二十一 号楼 三 单元", "21栋3单元"),
        ("我是二十 号楼 不是 二十一 号楼", "20栋"),
    ],
)
def test_a_building_taken_back_after_a_hesitation(said: str, unit: str | None) -> None:
    clean = text.clean(said)
    assert extract.extract(clean, text.numeric(clean)).unit == unit


@pytest.mark.parametrize(
    ("said", "phone"),
    [
        ("电话幺三八一二三四五六七八", "13812345678"),
        ("打零二一六二三四五六七八", "02162345678"),  # a Shanghai landline
        ("座机零一零六五四三二一零九", "01065432109"),  # a Beijing landline
        ("电话一二三四五", None),  # too short
        ("电话一二三四五六七八九零一", None),  # 11 digits, not a valid mobile
        ("五零一室电话一三九零零零零一一一一", "13900001111"),
        ("座机零二一杠六二三四五六七八", "02162345678"),  # 杠 between area code and number
        ("座机是六二三四五六七八", "62345678"),  # a local landline, named as a number
        ("六二三四五六七八", None),  # eight digits and no word saying it is a number
        # Round 7: a number restated after a correction replaces the first one.
        ("电话幺三九零零零零幺幺幺幺说错了是幺三九零零零零幺幺幺二", "13900001112"),
        # Round 8: only the last digits said again after a correction.
        ("电话幺三九零零零零幺幺幺幺 不对 最后两位是二三", "13900001123"),
        ("电话幺三九零零零零幺幺幺幺 最后三位是五六七", "13900001567"),
        # Round 9: 最后是 without saying how many digits.
        ("电话幺三九零零零零幺幺幺幺 哦不对 最后是九九", "13900001199"),
    ],
)
def test_phones(said: str, phone: str | None) -> None:
    assert phones.phone(text.numeric(said)) == phone


@pytest.mark.parametrize(
    ("said", "unit", "phone"),
    [
        ("我是三栋二单元嗯五零一的", "3栋2单元501", None),
        ("电话是幺三八嗯幺二三四那个五六七八", None, "13812345678"),
        ("我是四栋一单元的那个啥六零二", "4栋1单元602", None),  # 那个啥 is one hesitation
    ],
)
def test_hesitations_do_not_cut_addresses_or_numbers(
    said: str, unit: str | None, phone: str | None
) -> None:
    found = extract.extract(said, text.numeric(said))
    assert (found.unit, found.phone) == (unit, phone)


def test_times_and_departments() -> None:
    said = "明天下午三点找一下张经理工程部"
    found = extract.extract(said, text.numeric(said))
    assert found.times == ["明天下午3点"]
    assert found.departments == ["工程部", "张经理"]


@pytest.mark.parametrize(
    ("said", "surname", "unit", "phone"),
    [
        ("my name is Mr Smith flat 501 building 3", "Smith", "3栋501", None),
        ("this is Mrs Chen building 4 unit 1 flat 202", "Chen", "4栋1单元202", None),
        (
            "I am John Taylor call me on one three eight one two three four five six seven eight",
            "Taylor",
            None,
            "13812345678",
        ),
        ("hello sorry wrong number", None, None, None),
        # a title after "for the manager" names a staff member, not the caller
        ("leave a message for the manager Mr Li my name is Mrs Chen", "Chen", None, None),
        ("please ask Mr Li to call me back", None, None, None),
        # a staff title before the name: the housekeeper or the plumber is not the caller
        ("tell the plumber Mr Wang my name is Mrs Ortiz", "Ortiz", None, None),
        # Round 7: "let Mr Li know" names staff.
        ("please let Mr Li know the parcel came this is Ms Novak", "Novak", None, None),
        # Round 11: a building one is next to, behind or opposite is a landmark; the one a
        # fault is outside is where it is.
        ("the bench next to building 12 is broken this is Ms Ito", "Ito", None, None),
        ("kids play in front of building 3 I live in building 7 flat 402", None, "7栋402", None),
        ("the bins outside building 6 are full", None, "6栋", None),
    ],
)
def test_english(said: str, surname: str | None, unit: str | None, phone: str | None) -> None:
    found = extract.extract_english(said)
    assert (found.surname, found.unit, found.phone) == (surname, unit, phone)


@pytest.fixture(scope="module")
def content() -> Content:
    return load_content(Settings())


@pytest.mark.parametrize("name", FLOORS)
def test_fields_of_the_labelled_sets_stay_above_their_floors(
    content: Content, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    got = accuracy(content, monkeypatch, name, ("surname", "unit", "phone"))
    below = {field: got[field] for field, floor in FLOORS[name].items() if got[field] < floor}
    assert not below, f"{name} below its floor {FLOORS[name]}: {got}"
