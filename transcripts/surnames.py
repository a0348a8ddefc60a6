"""The caller's surname from what was said (transcripts.extract reads the other fields).

The seeds ask the desk to take the caller's surname (首问责任制培训细则 1.4.1 请问您贵姓).
Read from `text.clean` output (Chinese, no spaces): 我姓王, 免贵姓欧阳, 弓长张, 王女士,
我是三栋的李…; a titled person of the staff, or one the caller names, is someone else.
"""

from __future__ import annotations

import re

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
