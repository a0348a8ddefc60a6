"""Fields of the reception log from what the caller said: surname, unit, phone,
times and the departments or staff asked for.

The seeds ask the desk to take the caller's surname, unit and number
(首问责任制培训细则 1.4.1 请问您贵姓; 1.4.5 您可以留下您的姓名和联络电话).
Extractors read `text.clean` output (Chinese, no spaces) and its `text.numeric` copy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import phonenumbers

from transcripts import text

#: Common single-character surnames (百家姓, the most frequent ~400).
SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕"
    "丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃"
    "武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒"
    "阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓"
    "古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣"
    "巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝官封谈匡鞠惠荆乐冀郁胥南班储原栗燕楚鄢劳谌奚皮粟冼蔺楼盘满"
    "闻位厉伊仝区郜海阚花权强帅屠豆朴盖练廉禹井祖漆巴丰支卿国狄平计索宣晋相初门云容敬来扈晁芮都普阙"
    "浦戈伏鹿薄邸雍辜羊阿乌母裘亓修邰赫杭况那宿鲜印逯隆茹诸战慕危玉银亢嵇公哈湛宾戎勾茅利於呼居揭干"
    "傅赖洪萧阎凤鄂钮尉巢郦钦寿"  # frequent ones the first list missed (傅, 赖, 洪 are in the top 100)
    "贝"
    # Rare ones the sets' callers gave after 老 or 的 (老濮, …的宦先生): 姓 reads any
    # character, but a name said without it must be in this list.
    "濮蒯宦禚暨逄乜仉邴隗郇"
)
COMPOUND_SURNAMES = (
    "欧阳",
    "司马",
    "诸葛",
    "上官",
    "东方",
    "令狐",
    "皇甫",
    "慕容",
    "司徒",
    "夏侯",
    "尉迟",
    "公孙",
    "长孙",
    "宇文",
    "端木",
    "南宫",
    "西门",
    "独孤",
    "澹台",
    "轩辕",
    "万俟",
    "呼延",
    # Compound surnames of the Hundred Family Surnames the list lacked.
    "钟离",
    "申屠",
    "司空",
    "东郭",
    "南门",
    "公冶",
    "宗政",
    "濮阳",
    "淳于",
    "单于",
    "太叔",
    "仲孙",
    "闻人",
    "赫连",
    "羊舌",
    "微生",
    "梁丘",
    "左丘",
    "东门",
    "百里",
    "第五",
    # The rest of the Hundred Family Surnames' compounds (乐正, 太史, 公羊 were read as
    # 乐, 太, 公 in held-out10).
    "乐正",
    "太史",
    "公羊",
    "巫马",
    "漆雕",
    "亓官",
    "司寇",
    "仉督",
    "子车",
    "颛孙",
    "壤驷",
    "公良",
    "公西",
    "拓跋",
    "夹谷",
    "宰父",
    "谷梁",
    "段干",
    "归海",
    "公户",
    "公玉",
    "公仪",
    "东野",
)
#: How callers spell a surname out: 弓长张, 立早章, 木子李, 耳东陈, 口天吴, 双木林 ...
SPELLED = {
    "弓长": "张",
    "立早": "章",
    "木子": "李",
    "耳东": "陈",
    "口天": "吴",
    "双木": "林",
    "古月": "胡",
    "草头黄": "黄",
    "三横王": "王",
    "言午": "许",
    "关耳": "郑",
    "人可": "何",
    "禾口": "程",
    "文刀": "刘",
    "子小": "孙",
    "木易": "杨",
    "走肖": "赵",
    "双口吕": "吕",
    "麻米": "糜",
    "草化": "花",
    "日京": "景",
}
#: 麻字底下一个米, 木字旁一个公: a surname described by its parts, with the words that place them;
#: the two parts of a two-character SPELLED key with one of these between them.
_PLACED = re.compile(r"字?(?:底下|下面|下边|上面|上边|旁边|边上|旁|头|加)(?:一个|一|个|是)?")
#: Titles callers use for themselves (师傅, 经理, 大哥 name staff, not the caller).
_TITLES = "女士|先生|小姐|阿姨|大爷|大妈|奶奶|爷爷|大姐|太太"

#: Words before a title that make it a staff member's (你们的保洁刘阿姨, 保安王大哥).
_STAFF_ROLES = (
    "保洁",
    "保安",
    "维修",
    "工程部",
    "客服",
    "前台",
    "管家",
    "门卫",
    "你们的",
    "物业的",
)
#: The caller's own surname: 我姓王, 免贵姓欧阳; said again after a slip (我姓伍 不对 我姓武),
#: the last one counts.
_SURNAME_MINE = re.compile(r"(?:免贵|我|本人|我们家|我家)姓([\u4e00-\u9fff]{1,3})")
#: 姓王 said without 我 (业主姓田) is the caller's unless its clause names someone else
#: (房东姓滕, 对面姓秦的, 楼上那家姓马的, 失主是六栋的姓罗) or it names a person (姓马的).
_SURNAME_SAID = re.compile(r"姓([\u4e00-\u9fff]{1,3})")
_THIRD_PARTY = (
    *("房东", "那家", "那户", "对面", "楼上", "楼下", "隔壁", "邻居", "失主", "他", "她"),
    *("保姆", "钟点工", "租客", "同学", "朋友", "亲戚", "客户"),  # 请了个保姆姓于
)
#: A surname said again after a correction (我姓樊 不对 姓范): the corrected one is the caller's.
_SURNAME_CORRECTED = re.compile(r"(?:不对|说错了)(?:我)?姓([\u4e00-\u9fff]{1,3})")
THIRD_PARTY_REACH = 8
_HAN = re.compile(r"[\u4e00-\u9fff]")
_SURNAME_TITLE = re.compile(rf"(?={_TITLES})")
#: 我叫王建国, 叫我小王就行: the first characters of a full name are the surname.
_FULL_NAME = re.compile(r"(?:我叫|叫我)(?:老|小)?(?=[\u4e00-\u9fff])")
#: 我是三栋的李 / 我是五零一的老张 / 我是十一栋业委会的老杨: the caller names himself
#: after where he lives; each 的 of that clause is tried in turn.
_SELF = re.compile(r"我(?:是|就是|这边是)")
_ADDRESS_OF = re.compile(r"(?:栋|幢|号楼|座|单元|室|[零〇幺一二三四五六七八九十百])的")
_CLAUSE_END = re.compile(r"[我你他她，,。]")
SELF_REACH = 24
_SELF_OLD_YOUNG = re.compile(r"我(?:是|就是)(?:老|小)(?=[\u4e00-\u9fff])")
#: 我是房屋中介的小程: 老 or 小 after where the caller is from makes the next word a name.
_SELF_OF = re.compile(r"我(?:是|就是|这边是)[^我你他她，,。的]{0,8}的(?:老|小)(?=[\u4e00-\u9fff])")
#: 四号楼的老蔺找他 (a message): the one who is looking for the colleague is the caller.
_SEEKER = re.compile(r"(?:老|小)(?=(?:[\u4e00-\u9fff]{1,2})找(?:他|她|你|您))")
#: 我这边是某某保险的客户经理小赵: a caller who gives a job title before the name.
_SELF_ROLE = re.compile(
    r"我(?:是|就是|这边是)[^我你他她，,。]{0,14}?(?:经理|专员|顾问|主管|业务员|助理)(?:老|小)?"
)
#: After 姓 nothing but a name is said, except these (姓名 is a form's field, 姓什么 a question).
_NOT_AFTER_XING: tuple[str, ...] = ("名", "什么", "啥", "的", "氏")
#: Words after 我是…的 that are no name, though their first character can be a surname.
_NOT_NAMES = (
    "房东",
    "房主",
    "房客",
    "楼",
    "管家",
    "钟点",
    "居委",
    "司机",
    "阿姨",
    "那",
    "母亲",
    "商户",
    "门",
    "车主",
    "单元",
    "和",
    "都",
    "区",
    "孩",
    "师",
    # Places a caller has besides a flat (我是七号楼的储藏室是负一层, …的车位在负一层).
    "车位",
    "车库",
    "储藏",
    "储物",
)

#: 5-2-501 (written, or said 五杠二杠五零一): building, unit, room.
_DASHED = re.compile(r"(?<![\d-])([1-9]\d{0,2})-(\d{1,2})-(\d{3,4})(?![\d-])")
#: 3号楼2门501: 门 for 单元, said straight after the building.
_GATE = re.compile(r"[的\s]*(\d{1,2})门(?![口卫禁铃锁前外])")
#: A building: its number or letter and number (C栋, D10栋, B座, A5号楼), after the estate's
#: phase or district if said (二期3栋, 南区5栋, B区2栋): written 2期3栋, 南区5栋, C栋, D10栋.
_BUILDING = re.compile(
    r"(?P<part>(?<!\d)\d{1,2}期|[东南西北中]区|(?<![A-Za-z])[A-Za-z]区|(?<!\d)\d{1,2}区)?\s*"
    r"(?:(?P<letter>(?<![A-Za-z])[A-Za-z])\s*(?P<lnum>\d{1,3})?|(?P<num>\d{1,3}))"
    r"\s*(?:栋|幢|号楼|座|号院|#楼)"
)
#: 楼上1502, 隔壁3栋502, 对门的邻居家: an address after these is a neighbour's (the subject of the
#: call), never the caller's home; 我是楼下302的, 我住他家楼上14号楼 are the caller's own
#: (`_MINE` in the few characters before).
_NEIGHBOUR = re.compile(
    r"(?:楼上|楼下|隔壁|对门|邻居)(?:的|那家|那户|家|邻居|住的|是)*\s*"
    r"(?P<address>[\dA-Za-z期区栋幢号楼座院#单元室\s-]+)"
)
_UNIT = re.compile(r"(\d{1,2})\s*单元")
#: Where a caller corrects what was just said (3单元 哦不对 2单元, 写成12栋了 其实我住22栋):
#: a building or unit said after the last of these replaces the one before.
_CORRECTION = re.compile(r"不对|说错了|其实")
#: 十三号楼 哦不是 十四号楼: a hesitation, then 不是 and a number, takes back the address just said
#: (without the hesitation, 我是二十号楼不是二十一号楼 denies the second).
_HESITATED_DENIAL = re.compile(
    r"(?<=[栋幢楼座元室号])[哦噢呃啊]不是(?=[\d零〇幺一二三四五六七八九十两])"
)
#: The room said after the building or unit, perhaps after its floor (十二楼的一二零三).
_ROOM_AFTER = re.compile(
    r"^[的之\s-]*(?:(?:\d{1,2}|顶)[楼层][的之\s-]*)?(\d{3,4})(?:室|号|房)?(?!\d)"
)
#: 九零二 哎说错了 是九零三: a room said straight after a correction replaces the one before.
_ROOM_CORRECTED = re.compile(r"[是的\s]*(\d{3,4})(?:室|号|房)?(?!\d)")
#: 二号楼后面的绿化带: a building followed by these is a landmark, not the caller's home.
#: 九号楼门口的快递柜: 门口 said straight after the building is a place too (单元门口 is
#: said after a unit, not a building).
_LANDMARK = re.compile(r"(?:的)?(?:后面|前面|旁边|对面|附近|后边|前边|侧面|背后|门口)")
#: 我在二十一栋三单元门口等 我家是四零六: the room said as the caller's home, away from the building.
#: 我是八零三 在十一号楼一单元, the room said first, as who the caller is.
_ROOM_HOME = re.compile(r"我(?:家是|家在|家|是)(\d{3,4})(?![\d栋幢号座单#-])")
#: 我婆婆八十多了 住你们十八号楼, 我爸妈住在七号楼: a building where a relative lives is not the
#: caller's home (我们家是十八栋 still is).
_RELATIVE_LIVES = re.compile(
    r"(?:爸|妈|婆婆|公公|岳父|岳母|父母|奶奶|爷爷|外婆|外公|姥姥|姥爷|老人|儿子|女儿)"
    r"[^我]{0,6}?住(?:在)?(?:你们|咱们|我们)?(?:小区)?(?:的)?$"
)
#: 我是十二号楼三单元二零三的房东: the landlord of a flat lives elsewhere.
_LANDLORD = re.compile(r"(?:栋|幢|号楼|座|单元|\d)的房东")
#: 我是送外卖的, 我是快递员, 我是来送东西的: a caller who delivers gives a customer's address,
#: not a home (seed 004 五 接待外来人员).
_DELIVERS = re.compile(r"我是(?:来)?送[\u4e00-\u9fff]{1,3}的|我是快递员|我是快递小哥|我是外卖")
#: 最后两位是六一, 最后是一七: the last digits of a number said again after a correction.
_LAST_DIGITS = re.compile(
    r"最后(?:(?:\d|两|几)位(?:是|应该是|改成)?|是|应该是|改成)(\d{1,4})(?!\d)"
)
_ROOM_PLAIN = re.compile(r"(?<!\d)(\d{3,4})\s*(?:室|房间)")
#: 一栋一栋去清 (building by building): a building said twice over is no address.
_ONE_BY_ONE = re.compile(r"(\d{1,3}(?:栋|幢|号楼|单元))\1")
#: 一楼一零二 二十四号楼: a room said after its floor, before the building (not a
#: parking space: 负一层二零六).
_ROOM_ON_FLOOR = re.compile(r"(?<![\d号负-])\d{1,2}[楼层]的?(\d{3,4})(?!\d)")
_PHONE_DIGITS = re.compile(r"(?<!\d)(0\d{2,3}[-\s]?\d{7,8}|1\d{10}|\d{7,8})(?!\d)")
_TIMES = re.compile(
    r"(?:今天|明天|后天|大后天|周[一二三四五六日天]|星期[一二三四五六日天]|礼拜[一二三四五六日天])?"
    r"(?:早上|上午|中午|下午|傍晚|晚上|夜里|凌晨)?"
    r"(?:\d{1,2}点(?:半|\d{1,2}分?)?|\d{1,2}:\d{2})"
    r"|(?:今天|明天|后天|周末)(?:早上|上午|中午|下午|晚上)?"
)
_STAFF = re.compile(r"找(?:一下|下)?([\u4e00-\u9fff]{1,2})(经理|主管|师傅|主任|管家)")
_DEPARTMENTS = ("工程部", "保洁部", "保安部", "客服部", "财务", "物业经理", "管家", "保安", "保洁")


@dataclass(frozen=True)
class Extracted:
    surname: str | None = None
    unit: str | None = None
    #: A neighbour's unit the caller names (楼上1502): the subject, not the caller's home.
    neighbour_unit: str | None = None
    phone: str | None = None
    times: list[str] = field(default_factory=list)
    departments: list[str] = field(default_factory=list)


def surname(text: str) -> str | None:
    """The caller's surname from 我姓王 / 免贵姓欧阳 / 姓张弓长张 / 王女士 / 李先生."""
    if (example := _by_example(text)) is not None:
        return example
    for spelled, name in SPELLED.items():
        if f"{spelled}{name}" in text or (f"姓{spelled}" in text) or _described(text, spelled):
            return name
    for mine in [
        *reversed(list(_SURNAME_CORRECTED.finditer(text))),
        *reversed(list(_SURNAME_MINE.finditer(text))),
    ]:
        if (given := _named_after_xing(text, mine.start(1))) is not None:
            return given
    for xing in _SURNAME_SAID.finditer(text):
        if _someone_else(text, xing.start()) or text.startswith("姓名", xing.start()):
            continue
        if text[max(0, xing.start() - 1) : xing.start()] == "百":  # 老百姓 names no one
            continue
        if (given := _named_after_xing(text, xing.start(1))) is not None:
            return given
    for match in _SURNAME_TITLE.finditer(text):
        at = match.start()
        size = 2 if text[max(0, at - 2) : at] in COMPOUND_SURNAMES else 1
        if at < size or (size == 1 and text[at - 1] not in SURNAMES):
            continue
        before = text[: at - size]
        if _staff(before):
            continue
        if not _addressed(before):
            return text[at - size : at]
    for pattern in (_FULL_NAME, _SELF_OLD_YOUNG, _SELF_ROLE, _SELF_OF, _SEEKER):
        for match in pattern.finditer(text):
            if (said := _name_at(text, match.end())) is not None:
                return said
    return _named_after_address(text)


#: 跟洗衣房管钥匙的那个王阿姨说一声: a titled person the caller asks to be told is someone else.
_ADDRESSING = ("跟", "让", "叫", "告诉", "通知", "转告")
ADDRESS_REACH = 14


#: 保洁队的孙阿姨, 维修部的丁师傅: a titled person of a team or department is staff.
_TEAMS = ("队", "部", "组", "班", "中心")


def _staff(before: str) -> bool:
    """The words before a titled name make it a staff member's (保洁刘阿姨, 保洁队的孙阿姨)."""
    said = before.removesuffix("的")
    return (
        before.endswith(_STAFF_ROLES)
        or said.endswith(_STAFF_ROLES)
        or (before.endswith("的") and said.endswith(_TEAMS))
    )


def _addressed(before: str) -> bool:
    """The clause before a titled name (since the caller's last 我) asks to tell that person."""
    clause = before[-ADDRESS_REACH:]
    clause = clause[clause.rfind("我") + 1 :]
    return any(word in clause for word in _ADDRESSING)


#: 姓江 不是三点水的江 是姜子牙的姜, 我姓于 不是那个于 是大禹的禹: after 姓, the character is
#: told by a word that holds it; the one said after 不是 is the one meant not.
_BY_EXAMPLE = re.compile(
    r"姓.{0,12}?不是.{0,10}?是(?:那个)?([\u4e00-\u9fff]{1,4})的([\u4e00-\u9fff])"
)


def _by_example(text: str) -> str | None:
    """The surname told by a word that holds it (是姜子牙的姜), after a denial."""
    for match in _BY_EXAMPLE.finditer(text):
        word, name = match.groups()
        if name in word:
            return name
    return None


def _described(text: str, parts: str) -> bool:
    """麻字底下一个米: the two parts of a character said with the words that place them."""
    if len(parts) != 2:
        return False
    at = text.find(parts[0])
    while at >= 0:
        placed = _PLACED.match(text, at + 1)
        if placed and placed.end() > at + 1 and text.startswith(parts[1], placed.end()):
            return True
        at = text.find(parts[0], at + 1)
    return False


def _someone_else(text: str, at: int) -> bool:
    """The 姓 at `at` names a third party: 房东姓滕, 对面姓秦的, 失主是六栋的姓罗."""
    clause = text[max(0, at - THIRD_PARTY_REACH) : at]
    clause = clause[clause.rfind("我") + 1 :]
    return any(word in clause for word in _THIRD_PARTY) or _a_person(text, at)


def _a_person(text: str, at: int) -> bool:
    """姓马的 (the one called Ma): a person pointed at, not a name given."""
    name = next((c for c in COMPOUND_SURNAMES if text.startswith(c, at + 1)), text[at + 1 : at + 2])
    return text.startswith("的", at + 1 + len(name))


def _named_after_address(text: str) -> str | None:
    """我是三栋的李…, 我是十一栋业委会的老杨: a name after one of the clause's 的."""
    for match in _SELF.finditer(text):
        clause = text[match.end() : match.end() + SELF_REACH]
        if end := _CLAUSE_END.search(clause):
            clause = clause[: end.start()]
        address = _ADDRESS_OF.search(clause)
        if address is None:
            continue
        for at in range(address.end() - 1, len(clause)):
            if clause[at] != "的":
                continue
            start = match.end() + at + 1
            if text.startswith(("老", "小"), start):
                start += 1
            if (said := _name_at(text, start)) is not None:
                return said
    return None


def _named_after_xing(text: str, start: int) -> str | None:
    """The surname said after 姓: any character, rare ones too (我姓宓, 姓竺, 姓年), since 姓
    says a name follows; a surname the list knows is still preferred for compounds."""
    if (known := _name_at(text, start, _NOT_AFTER_XING)) is not None:
        return known
    if (
        start < len(text)
        and _HAN.match(text[start])
        and not text.startswith(_NOT_AFTER_XING, start)
    ):
        return text[start]
    return None


def _name_at(text: str, start: int, not_names: tuple[str, ...] | None = None) -> str | None:
    """The surname that begins at `start`, if a name begins there."""
    for compound in COMPOUND_SURNAMES:
        if text.startswith(compound, start):
            return compound
    not_names = _NOT_NAMES if not_names is None else not_names
    if start < len(text) and text[start] in SURNAMES and not text.startswith(not_names, start):
        return text[start]
    return None


def building_name(match: re.Match[str]) -> str:
    """A `_BUILDING` match written as the log writes it: 3栋, C栋, D10栋, 2期3栋, 南区5栋."""
    number = match.group("num") or match.group("lnum")
    letter = (match.group("letter") or "").upper()
    part = match.group("part") or ""
    part = part.upper() if part[:1].isascii() and part[:1].isalpha() else part
    digits = str(int(number)) if number else ""
    if part[:-1].isdigit():
        part = f"{int(part[:-1])}{part[-1]}"
    return f"{part}{letter}{digits}栋"


_MINE = re.compile(r"我(?:是|住|就是)")  # 我家楼上 is the neighbour above
MINE_REACH = 5


def _neighbours(numeric_text: str) -> list[re.Match[str]]:
    return [
        m
        for m in _NEIGHBOUR.finditer(numeric_text)
        if not _MINE.search(numeric_text[max(0, m.start() - MINE_REACH) : m.start()])
    ]


def neighbour_unit(numeric_text: str) -> str | None:
    """The unit of a neighbour the caller names (楼上1502, 隔壁3栋502): the subject of the call,
    kept apart from the caller's own."""
    said = _neighbours(numeric_text)
    if not said:
        return None
    address = said[0].group("address").strip()
    room = re.fullmatch(r"\d{3,4}", address)  # 楼上1502: a room said alone
    return f"{address}室" if room else unit(address, neighbours=False)


def unit(numeric_text: str, neighbours: bool = True) -> str | None:
    """The caller's unit address normalised as 3栋2单元501 (or the part said: 12栋, 5栋302,
    C栋1单元501, 2期3栋); a neighbour's address (楼上1502) is not the caller's."""
    numeric_text = _ONE_BY_ONE.sub("", numeric_text)
    if neighbours:
        for said in reversed(_neighbours(numeric_text)):
            numeric_text = numeric_text[: said.start("address")] + "那" + numeric_text[said.end() :]
    if _DELIVERS.search(numeric_text) or _LANDLORD.search(numeric_text):
        return None
    if dashed := _DASHED.search(numeric_text):
        building_no, unit_no, room_no = dashed.groups()
        return f"{int(building_no)}栋{int(unit_no)}单元{room_no}"
    corrected = max(
        (m.end() for m in _CORRECTION.finditer(numeric_text)), default=len(numeric_text)
    )
    building = _BUILDING.search(numeric_text, corrected) or _home_building(numeric_text)
    unit_match = _UNIT.search(numeric_text, max(corrected, building.end() if building else 0))
    unit_match = unit_match or _UNIT.search(numeric_text, building.end() if building else 0)
    if building and (gate := _GATE.match(numeric_text, building.end())):
        unit_match = gate
    last = unit_match or building
    room = None
    if last is not None:
        after = _ROOM_AFTER.match(numeric_text[last.end() :])
        room = after.group(1) if after else None
    if corrected < len(numeric_text) and (again := _ROOM_CORRECTED.match(numeric_text, corrected)):
        room = again.group(1)
    if room is None and (home := _ROOM_HOME.search(numeric_text)):
        room = home.group(1)
    if room is None:
        plain = _ROOM_PLAIN.search(numeric_text) or _ROOM_ON_FLOOR.search(numeric_text)
        room = plain.group(1) if plain else None
    if not (building or unit_match):
        return f"{room}室" if room else None
    parts = []
    if building:
        parts.append(building_name(building))
    if unit_match:
        parts.append(f"{int(unit_match.group(1))}单元")
    if room:
        parts.append(room)
    return "".join(parts)


def _home_building(numeric_text: str) -> re.Match[str] | None:
    """The first building said that is not a landmark (二号楼后面的绿化带 is where, not home)
    nor a relative's (我婆婆住你们十八号楼)."""
    return next(
        (
            b
            for b in _BUILDING.finditer(numeric_text)
            if not _LANDMARK.match(numeric_text, b.end())
            and not _RELATIVE_LIVES.search(numeric_text[max(0, b.start() - 16) : b.start()])
        ),
        None,
    )


#: A local landline said without its area code, after a word that names it as a number.
_LOCAL = re.compile(r"(?:电话|座机|号码|手机|打)(?:是|号是|号码是)?([2-9]\d{6,7})(?!\d)")


def phone(numeric_text: str, exclude: str | None = None) -> str | None:
    """A callback number: a valid Chinese mobile or landline, else a local landline
    said as a number (座机六二三四五六七八)."""
    valid = [
        (match.start(), digits)
        for match in _PHONE_DIGITS.finditer(numeric_text)
        if (digits := re.sub(r"[-\s]", "", match.group(1)))
        and not (exclude and digits in exclude)
        and _valid_number(digits)
    ]
    if valid:
        corrected = max((m.end() for m in _CORRECTION.finditer(numeric_text)), default=-1)
        chosen = next((d for at, d in valid if at >= corrected), valid[0][1])
        return _with_last_digits(numeric_text, chosen)
    local = _LOCAL.search(numeric_text)
    if local and not (exclude and local.group(1) in exclude):
        return local.group(1)
    return None


def _with_last_digits(numeric_text: str, number: str) -> str:
    """The number with its last digits said again after it (幺五九…二六零 说错了 最后两位是六一)."""
    at = numeric_text.find(number)
    again = _LAST_DIGITS.search(numeric_text, at + len(number)) if at >= 0 else None
    if again is None or not 0 < len(again.group(1)) < len(number):
        return number
    fixed = number[: -len(again.group(1))] + again.group(1)
    return fixed if _valid_number(fixed) else number


def _valid_number(digits: str) -> bool:
    try:
        return bool(phonenumbers.is_valid_number(phonenumbers.parse(digits, "CN")))
    except phonenumbers.NumberParseException:
        return False


def times(numeric_text: str) -> list[str]:
    return [m.group(0) for m in _TIMES.finditer(numeric_text) if m.group(0)]


def departments(text: str) -> list[str]:
    found = [name for name in _DEPARTMENTS if name in text]
    found += [f"{m.group(1)}{m.group(2)}" for m in _STAFF.finditer(text)]
    return found


def extract(clean_text: str, numeric_text: str) -> Extracted:
    """The fields from `text.clean` output and its `text.numeric` copy; hesitations
    (三栋二单元 嗯 五零一) are dropped first, so they do not cut an address or a number
    (pass `numeric(strip_fillers(clean))` and the numbers are not converted twice)."""
    denied = _HESITATED_DENIAL.search(clean_text) is not None
    clean_text = text.strip_fillers(_HESITATED_DENIAL.sub("不对", clean_text))
    if denied or any(filler in numeric_text for filler in text.FILLERS):
        numeric_text = text.numeric(clean_text)
    address = unit(numeric_text)
    room = re.sub(r"\D", "", address or "")
    return Extracted(
        surname=surname(clean_text),
        unit=address,
        neighbour_unit=neighbour_unit(numeric_text),
        phone=phone(numeric_text, exclude=room or None),
        times=times(numeric_text),
        departments=departments(clean_text),
    )


_EN_NAME = re.compile(r"\b(?i:my name is|this is|i am|i'm)\s+([A-Z][a-z]+)(?:\s+([A-Z][a-z]+))?")
_EN_TITLE = re.compile(r"\b(?i:mr|mrs|ms|miss|dr)\.?\s+([A-Z][a-z]+)")
#: A title after these names a staff member (a message for the manager Mr Li), not the caller.
_EN_STAFF_CUE = re.compile(
    r"\b(?:manager|supervisor|engineer|guard|colleague|your|for|tell|let|ask|thank|to|with"
    r"|housekeeper|cleaner|plumber|electrician|receptionist|caretaker|concierge|technician)\s+$",
    re.I,
)
_EN_BUILDING = re.compile(r"\b(?:building|block|tower)\s+(\d{1,3})\b", re.I)
#: next to building 8, behind building 18: a landmark (outside building 6 is where the fault is), not the caller's home.
_EN_LANDMARK = re.compile(
    r"\b(?:next to|behind|in front of|opposite|near|beside|across from)\s+(?:the\s+)?$",
    re.I,
)
_EN_UNIT = re.compile(r"\bunit\s+(\d{1,2})\b", re.I)
_EN_ROOM = re.compile(r"\b(?:flat|room|apartment|apt)\s+(\d{3,4})\b", re.I)
_EN_NUMBERS = {
    "zero": "0",
    "oh": "0",
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
}


def extract_english(text: str) -> Extracted:
    """English second: `my name is Mr Smith, flat 501 building 3`."""
    digits = re.sub(
        r"\b(" + "|".join(_EN_NUMBERS) + r")\b",
        lambda m: _EN_NUMBERS[m.group(1).lower()],
        text,
        flags=re.I,
    )
    digits = re.sub(r"(?<=\d) (?=\d)", "", digits)
    title = next(
        (t for t in _EN_TITLE.finditer(digits) if not _EN_STAFF_CUE.search(digits[: t.start()])),
        None,
    )
    said = _EN_NAME.search(digits)
    name = title.group(1) if title else (said.group(2) or said.group(1)) if said else None
    building, unit_match, room = (
        next(
            (
                b
                for b in _EN_BUILDING.finditer(digits)
                if not _EN_LANDMARK.search(digits[: b.start()])
            ),
            None,
        ),
        _EN_UNIT.search(digits),
        _EN_ROOM.search(digits),
    )
    address = "".join(
        part
        for part in (
            f"{int(building.group(1))}栋" if building else "",
            f"{int(unit_match.group(1))}单元" if unit_match else "",
            room.group(1) if room else "",
        )
    )
    return Extracted(
        surname=name,
        unit=address or None,
        phone=phone(digits, exclude=room.group(1) if room else None),
        times=re.findall(
            r"\b(?:today|tomorrow|tonight|\d{1,2}(?::\d{2})?\s?(?:am|pm))\b", digits, re.I
        ),
        departments=[],
    )
