"""Province names as people type them → the short form the CRM stores (上海, 广东, 内蒙古).

Web forms, imports and the API bring "广东省", "上海市", "广西壮族自治区", "Guangdong", or only
a city ("苏州"). Assignment rules match on the stored short form, so a lead must carry it.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

from crm.customers.forms import PROVINCES

PROVINCE_SUFFIXES = (
    "维吾尔自治区",
    "壮族自治区",
    "回族自治区",
    "特别行政区",
    "自治区",
    "省",
    "市",
)

PINYIN = {
    "beijing": "北京",
    "tianjin": "天津",
    "shanghai": "上海",
    "chongqing": "重庆",
    "hebei": "河北",
    "shanxi": "山西",
    "liaoning": "辽宁",
    "jilin": "吉林",
    "heilongjiang": "黑龙江",
    "jiangsu": "江苏",
    "zhejiang": "浙江",
    "anhui": "安徽",
    "fujian": "福建",
    "jiangxi": "江西",
    "shandong": "山东",
    "henan": "河南",
    "hubei": "湖北",
    "hunan": "湖南",
    "guangdong": "广东",
    "hainan": "海南",
    "sichuan": "四川",
    "guizhou": "贵州",
    "yunnan": "云南",
    "shaanxi": "陕西",
    "gansu": "甘肃",
    "qinghai": "青海",
    "taiwan": "台湾",
    "neimenggu": "内蒙古",
    "innermongolia": "内蒙古",
    "guangxi": "广西",
    "xizang": "西藏",
    "tibet": "西藏",
    "ningxia": "宁夏",
    "xinjiang": "新疆",
    "hongkong": "香港",
    "macau": "澳门",
    "macao": "澳门",
}

# Prefecture-level cities (and a few well-known county-level ones) → province.
CITIES: dict[str, str] = {
    "河北": "石家庄 唐山 秦皇岛 邯郸 邢台 保定 张家口 承德 沧州 廊坊 衡水",
    "山西": "太原 大同 阳泉 长治 晋城 朔州 晋中 运城 忻州 临汾 吕梁",
    "内蒙古": "呼和浩特 包头 乌海 赤峰 通辽 鄂尔多斯 呼伦贝尔 巴彦淖尔 乌兰察布",
    "辽宁": "沈阳 大连 鞍山 抚顺 本溪 丹东 锦州 营口 阜新 辽阳 盘锦 铁岭 朝阳 葫芦岛",
    "吉林": "长春 四平 辽源 通化 白山 松原 白城 延边",
    "黑龙江": "哈尔滨 齐齐哈尔 鸡西 鹤岗 双鸭山 大庆 伊春 佳木斯 七台河 牡丹江 黑河 绥化",
    "江苏": "南京 无锡 徐州 常州 苏州 南通 连云港 淮安 盐城 扬州 镇江 泰州 宿迁 昆山 江阴 张家港",
    "浙江": "杭州 宁波 温州 嘉兴 湖州 绍兴 金华 衢州 舟山 台州 丽水 义乌",
    "安徽": "合肥 芜湖 蚌埠 淮南 马鞍山 淮北 铜陵 安庆 黄山 滁州 阜阳 宿州 六安 亳州 池州 宣城",
    "福建": "福州 厦门 莆田 三明 泉州 漳州 南平 龙岩 宁德 晋江",
    "江西": "南昌 景德镇 萍乡 九江 新余 鹰潭 赣州 吉安 宜春 抚州 上饶",
    "山东": "济南 青岛 淄博 枣庄 东营 烟台 潍坊 济宁 泰安 威海 日照 临沂 德州 聊城 滨州 菏泽",
    "河南": "郑州 开封 洛阳 平顶山 安阳 鹤壁 新乡 焦作 濮阳 许昌 漯河 三门峡 南阳 商丘 信阳 周口 驻马店",
    "湖北": "武汉 黄石 十堰 宜昌 襄阳 鄂州 荆门 孝感 荆州 黄冈 咸宁 随州 恩施",
    "湖南": "长沙 株洲 湘潭 衡阳 邵阳 岳阳 常德 张家界 益阳 郴州 永州 怀化 娄底",
    "广东": "广州 韶关 深圳 珠海 汕头 佛山 江门 湛江 茂名 肇庆 惠州 梅州 汕尾 河源 阳江 清远 东莞 "
    "中山 潮州 揭阳 云浮",
    "广西": "南宁 柳州 桂林 梧州 北海 防城港 钦州 贵港 玉林 百色 贺州 河池 来宾 崇左",
    "海南": "海口 三亚 三沙 儋州",
    "四川": "成都 自贡 攀枝花 泸州 德阳 绵阳 广元 遂宁 内江 乐山 南充 眉山 宜宾 广安 达州 雅安 巴中 资阳",
    "贵州": "贵阳 六盘水 遵义 安顺 毕节 铜仁",
    "云南": "昆明 曲靖 玉溪 保山 昭通 丽江 普洱 临沧 大理 西双版纳",
    "西藏": "拉萨 日喀则 昌都 林芝 山南 那曲",
    "陕西": "西安 铜川 宝鸡 咸阳 渭南 延安 汉中 榆林 安康 商洛",
    "甘肃": "兰州 嘉峪关 金昌 白银 天水 武威 张掖 平凉 酒泉 庆阳 定西 陇南",
    "青海": "西宁 海东",
    "宁夏": "银川 石嘴山 吴忠 固原 中卫",
    "新疆": "乌鲁木齐 克拉玛依 吐鲁番 哈密 昌吉 伊犁 喀什 阿克苏",
    "台湾": "台北 高雄 台中 台南 新竹",
}


@cache
def _city_table() -> dict[str, str]:
    table = {p: p for p in ("北京", "天津", "上海", "重庆", "香港", "澳门")}
    for province, cities in CITIES.items():
        for city in cities.split():
            table.setdefault(city, province)
    return table


def _strip(text: str, suffixes: tuple[str, ...]) -> str:
    for suffix in suffixes:
        if text.endswith(suffix) and len(text) > len(suffix):
            return text[: -len(suffix)]
    return text


def province_normalize(value: str, *, city: str = "") -> str:
    """The stored short form of a province, or '' when none can be told.

    An unknown non-empty value is kept as typed (trimmed): a lead from abroad says so, and
    no rule will match it, which is what the pool is for.
    """
    text = re.sub(r"\s+", "", unicodedata.normalize("NFKC", value or ""))
    if text:
        if text in PROVINCES:
            return text
        short = _strip(text, PROVINCE_SUFFIXES)
        if short in PROVINCES:
            return short
        latin = re.sub(r"[^a-z]", "", text.lower()).removesuffix("province")
        if latin.removesuffix("shi") in PINYIN:
            return PINYIN[latin.removesuffix("shi")]
        if latin in PINYIN:
            return PINYIN[latin]
        by_city = _city_table().get(_strip(text, ("市", "地区")))
        if by_city:
            return by_city
        return text[:20]
    return province_from_city(city)


def province_from_city(city: str) -> str:
    text = re.sub(r"\s+", "", unicodedata.normalize("NFKC", city or ""))
    if not text:
        return ""
    return _city_table().get(_strip(text, ("市", "地区")), "")


def city_normalize(value: str) -> str:
    text = re.sub(r"\s+", "", unicodedata.normalize("NFKC", value or ""))
    short = _strip(text, ("市",))
    return short if short in _city_table() else text[:30]
