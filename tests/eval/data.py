"""The evaluation dataset: hand-written multi-session dialogues of eight users (four speaking
Chinese, four English) and questions about them, each naming the messages that hold its answer.

Everything here is fixed text, so two runs of the evaluation score the same input and a change
in the numbers means a change in the service. The facts are spread across sessions that lie
days or weeks apart, the way a memory service meets them in use:

- `single`: one fact stated once.
- `multi_hop`: two facts from different sessions have to be joined.
- `time`: the fact is told with a relative time ("last Saturday", "上周六"), so answering needs
  the session's `chat_time`.
- `updated`: a fact that changed in a later session; `evidence` is only the newer message and
  `stale` the older one, so the evaluation can tell when the outdated version ranks first.

Questions paraphrase rather than repeat the evidence, since a user asking later rarely uses the
words they spoke weeks before.
"""

from datetime import datetime, timedelta

CLOCK = "%Y-%m-%d %H:%M:%S"
MINUTES_BETWEEN_MESSAGES = 2


def _session(user: str, number: int, start: str, turns: list[str]) -> dict:
    """One conversation: turns alternate user / assistant (the user speaks first), a few
    minutes apart from `start`; local ids look like `zh1-s2-m3`."""
    began = datetime.strptime(start, CLOCK)
    messages = [
        {
            "id": f"{user}-s{number}-m{index}",
            "role": "user" if index % 2 else "assistant",
            "content": content,
            "chat_time": (
                began + timedelta(minutes=MINUTES_BETWEEN_MESSAGES * (index - 1))
            ).strftime(CLOCK),
        }
        for index, content in enumerate(turns, start=1)
    ]
    return {"conversation_id": f"{user}-s{number}", "messages": messages}


def _user(user: str, sessions: list[tuple[str, list[str]]]) -> list[dict]:
    return [
        _session(user, number, start, turns)
        for number, (start, turns) in enumerate(sessions, start=1)
    ]


USERS: dict[str, list[dict]] = {
    # A mother in Hangzhou: daughter, dog, job change, a move within the city.
    "zh1": _user(
        "zh1",
        [
            (
                "2024-03-04 20:00:00",
                [
                    "最近想给女儿报个兴趣班，她今年六岁，特别喜欢画画。",
                    "六岁正是培养兴趣的好时候。你们在哪个城市？我可以帮你看看附近的美术班。",
                    "我们住在杭州西湖区，离家近一点最好，我每天下班都挺晚的。",
                    "明白，西湖区有不少少儿美术机构，周末班可能更适合你们的时间。",
                    "我在一家互联网公司做产品经理，平时加班多，周末才有空陪她。",
                    "那就优先考虑周六上午的课程，这样不影响你们周日休息。",
                ],
            ),
            (
                "2024-03-18 21:10:00",
                [
                    "上周六我带女儿去了杭州动物园，她看到大熊猫高兴坏了。",
                    "听起来是很开心的亲子时光！她最喜欢哪种动物？",
                    "她说长大要当动物饲养员，回来还画了一整本熊猫。",
                    "真可爱，画画和喜欢动物结合起来，可以考虑自然主题的美术课。",
                    "对了，我对芒果过敏，下次出去玩得提醒自己别买芒果味的零食。",
                    "好的，推荐零食的时候我会帮你避开芒果。",
                ],
            ),
            (
                "2024-04-08 19:30:00",
                [
                    "跟你说个消息，我上个月跳槽了，现在在一家新能源车企做用户研究。",
                    "恭喜换了新工作！新岗位的节奏怎么样？",
                    "不怎么加班了，每天六点能下班，可以自己去接女儿放学。",
                    "那太好了，你就有更多时间陪孩子了。",
                    "我们家还养了一只叫豆包的柯基，女儿每天放学都要先遛它。",
                    "柯基很活泼，和小朋友一起散步正合适。",
                ],
            ),
            (
                "2024-05-06 20:20:00",
                [
                    "我们前天搬家了，从西湖区搬到了滨江区，离新公司近多了。",
                    "搬家辛苦了！新家附近环境怎么样？",
                    "小区楼下就有个公园，豆包特别喜欢在那儿跑。",
                    "有公园遛狗就方便了。女儿的画画班要换到滨江这边吗？",
                    "嗯，已经给她报了滨江的一个周六上午的水彩班。",
                    "水彩很适合她这个年龄，祝她画得开心。",
                ],
            ),
        ],
    ),
    # A marathon runner in Beijing: race results, an injury, a new phone.
    "zh2": _user(
        "zh2",
        [
            (
                "2024-02-20 09:15:00",
                [
                    "我最近在准备马拉松，想请你帮我做个训练计划。",
                    "没问题！你目前每周跑量大概多少？有没有参加过比赛？",
                    "每周大概跑四十公里，去年跑过一次半马，成绩是一小时五十分。",
                    "基础不错。目标是哪场全马？",
                    "报了三月底的无锡马拉松，目标是四小时以内完赛。",
                    "还有五周左右，可以安排两次三十公里以上的长距离。",
                    "我用的手机是华为Mate 60，跑步都用它配的手表记录。",
                    "华为的运动健康App数据挺全的，可以用来看配速和心率。",
                ],
            ),
            (
                "2024-03-26 22:40:00",
                [
                    "我前天跑完无锡马拉松了！成绩三小时五十二分，破四了！",
                    "太厉害了，恭喜破四！身体感觉怎么样？",
                    "膝盖外侧有点疼，医生说是髂胫束综合征，让我休息两周。",
                    "那一定要好好休息，可以做些泡沫轴放松和臀中肌力量训练。",
                    "我老婆说我再这么跑就把跑鞋扔了，哈哈。",
                    "家人也是关心你嘛，恢复好了再慢慢加量。",
                ],
            ),
            (
                "2024-04-15 12:30:00",
                [
                    "问你个事，我在望京上班，中午想找个清淡点的地方吃饭。",
                    "望京有很多餐厅，你偏好哪种菜系？",
                    "我是潮汕人，从小吃惯了清淡的，最喜欢砂锅粥。",
                    "望京有几家做潮汕砂锅粥的店，口碑都不错，可以中午去试试。",
                    "好，顺便问问，我儿子下个月满三岁，送什么生日礼物好？",
                    "三岁的孩子可以考虑平衡车或者磁力片积木，既好玩又锻炼。",
                ],
            ),
            (
                "2024-06-03 21:00:00",
                [
                    "我昨天把手机换成了iPhone 15 Pro，华为那台给我爸用了。",
                    "换新手机了！数据迁移顺利吗？",
                    "还行，就是跑步记录要从华为导到苹果健康里，有点麻烦。",
                    "可以用第三方工具同步，比如把数据导出成GPX再导入。",
                    "膝盖恢复得差不多了，但现在每周只跑二十公里左右，上班改成骑车了。",
                    "骑车对膝盖压力小，是很好的交叉训练。",
                ],
            ),
        ],
    ),
    # A graduate student in Chengdu who graduates and moves to Shenzhen with her cat.
    "zh3": _user(
        "zh3",
        [
            (
                "2024-01-10 15:00:00",
                [
                    "我在成都读研三，学校是四川大学，专业是环境工程，最近写论文写得头大。",
                    "论文阶段确实辛苦。卡在哪一部分了？",
                    "数据分析那块，导师让我用R做统计，可我只会一点Python。",
                    "其实Python的statsmodels也能做大部分统计分析，可以先和导师商量一下。",
                    "我养了一只英短蓝猫，叫年糕，写论文累了就撸撸它。",
                    "年糕听起来就很治愈，有猫陪着写论文会轻松些。",
                ],
            ),
            (
                "2024-02-06 10:20:00",
                [
                    "我打算今年暑假去日本玩，所以最近开始自学日语了。",
                    "好计划！你现在学到什么程度了？",
                    "五十音刚背完，每天用多邻国练半小时。",
                    "坚持下去进步会很快，可以再配合一些日剧练听力。",
                    "我最想去的是京都，想穿和服去伏见稻荷大社拍照。",
                    "伏见稻荷的千本鸟居很出片，建议早上去人少。",
                ],
            ),
            (
                "2024-04-22 18:45:00",
                [
                    "告诉你个好消息，我上周五论文答辩通过了！",
                    "太棒了，恭喜顺利毕业！接下来有什么打算？",
                    "已经签了深圳一家环保咨询公司的offer，七月入职。",
                    "深圳发展机会多，环保咨询也和你的专业很对口。",
                    "就是舍不得成都的火锅，深圳的辣度肯定不够。",
                    "深圳也有不少川味馆子，慢慢总能找到合口味的。",
                ],
            ),
            (
                "2024-07-15 21:30:00",
                [
                    "我已经搬到深圳了，现在住在南山区，租了个一室一厅。",
                    "欢迎来深圳！南山区通勤方便吗？",
                    "挺方便的，公司在科技园，地铁两站就到。年糕也跟着我一起来深圳了。",
                    "年糕适应新家了吗？猫搬家可能会紧张几天。",
                    "它第一天躲在床底下不出来，昨天终于肯出来吃饭了。",
                    "慢慢就好了，可以在它常待的地方放点熟悉的旧毯子。",
                    "对了，今年暑假不去日本了，入职前没时间，改成国庆去新疆自驾。",
                    "新疆国庆秋色很美，不过独库公路那时候可能已经封路，记得提前查一下。",
                ],
            ),
        ],
    ),
    # A retired teacher in Qingdao: grandson, blood pressure, calligraphy, sea fishing.
    "zh4": _user(
        "zh4",
        [
            (
                "2024-05-05 08:30:00",
                [
                    "我今年刚从中学退休，教了三十多年语文，现在一下子闲下来有点不习惯。",
                    "辛苦了这么多年，退休正好可以培养些新爱好。平时喜欢做些什么？",
                    "喜欢钓鱼，我住在青岛，离海边近，周末常去石老人海边海钓。",
                    "海钓很锻炼耐心，也能多晒晒太阳。",
                    "医生说我血压有点高，让我每天吃一片氨氯地平。",
                    "按时吃药，再注意少盐饮食，血压一般能控制得不错。",
                ],
            ),
            (
                "2024-05-20 19:00:00",
                [
                    "昨天我孙子过周岁，抓周抓了一支毛笔，全家都乐坏了。",
                    "抓到毛笔寓意好，说不定以后也是个读书人！",
                    "他爸爸就是我儿子，在上海当医生，这次专门请假回来的。",
                    "一家团聚真难得，医生工作忙，能回来一趟很不容易。",
                    "受孙子启发，我打算报个老年大学的书法班，重新练练字。",
                    "书法修身养性，很适合退休生活。",
                ],
            ),
            (
                "2024-06-17 16:10:00",
                [
                    "上周三去复查，医生把我的降压药换成了缬沙坦，说对肾脏更好。",
                    "换药后头几天注意监测血压，有不舒服及时反馈给医生。",
                    "书法班已经上了一个月了，老师说我的楷书有底子，让我开始练行书。",
                    "从楷书过渡到行书是很自然的进阶，可以多临摹《兰亭序》。",
                    "我老伴喜欢跳广场舞，每天晚上七点准时下楼。",
                    "老两口各有爱好，生活挺充实的。",
                ],
            ),
            (
                "2024-08-12 10:00:00",
                [
                    "我前天钓到一条三斤多的黑鲷，是我钓鱼这么多年最大的一条！",
                    "三斤多的黑鲷太难得了！是在老地方钓的吗？",
                    "不是，最近改去崂山那边的礁石钓了，石老人人太多。",
                    "崂山的礁石区鱼情好，不过要注意涨潮和防滑。",
                    "放心，我儿子给我买了一件救生衣，每次都穿着。",
                    "安全第一，这样家人也放心。",
                ],
            ),
        ],
    ),
    # A vegetarian in Seattle who changes jobs and moves to Denver.
    "en1": _user(
        "en1",
        [
            (
                "2024-02-05 19:00:00",
                [
                    "I need help planning meals for the week. I've been vegetarian for about five "
                    "years now.",
                    "Happy to help! Any ingredients you especially like or want to avoid?",
                    "I love anything with chickpeas, but I can't stand mushrooms, the texture drives "
                    "me crazy.",
                    "Noted: chickpeas in, mushrooms out. A chickpea curry and a falafel bowl could "
                    "anchor the week.",
                    "Sounds great. I live alone in a small apartment in Seattle, so I cook for one.",
                    "Then recipes that freeze well are your friend, so nothing goes to waste.",
                    "My sister Priya is the real cook in our family, though she barely has time since "
                    "she's a pediatric nurse in Boston.",
                    "Maybe she can share a few of her favourite recipes next time you talk.",
                ],
            ),
            (
                "2024-02-26 20:30:00",
                [
                    "My sister came to visit last Saturday and we hiked Rattlesnake Ledge together.",
                    "That sounds lovely! How was the view from the top?",
                    "Foggy, sadly, but we had a great time. She flew back on Sunday night.",
                    "Even a foggy summit is worth it with good company.",
                    "I also started guitar lessons on Thursday evenings, my teacher is a jazz guy "
                    "named Marcus.",
                    "Jazz guitar is a fun challenge. Are you learning on acoustic or electric?",
                    "Acoustic for now, it was my grandfather's old Martin.",
                    "What a special instrument to learn on.",
                    "Honestly I need the distraction, I've been doing QA for an e-commerce company "
                    "for three years and I'm burned out.",
                    "Three years of the same testing work would wear anyone down. Have you thought "
                    "about switching roles?",
                ],
            ),
            (
                "2024-04-15 18:15:00",
                [
                    "Big news: I accepted an offer from a climate-tech startup in Denver, I start in "
                    "June.",
                    "Congratulations! What will you be doing there?",
                    "Backend engineering on their carbon accounting platform, mostly Go and Postgres.",
                    "That's a great fit if you enjoy data-heavy systems.",
                    "I'm a bit nervous about leaving, but Denver has way more sunshine.",
                    "Over 300 sunny days a year, supposedly, and plenty of trails nearby.",
                ],
            ),
            (
                "2024-06-24 21:00:00",
                [
                    "I moved into my new place in Denver two days ago, it's in the Highlands "
                    "neighborhood.",
                    "Welcome to Denver! How's the new neighborhood?",
                    "Love it, there's a farmers market every Saturday two blocks away. I adopted a "
                    "rescue greyhound named Biscuit too.",
                    "Greyhounds are famously calm indoor dogs. Biscuit is a great name.",
                    "Guitar lessons are on pause until I find a new teacher here.",
                    "Denver has a strong jazz scene, a local music shop could point you to someone.",
                ],
            ),
        ],
    ),
    # A chemistry teacher in Austin with twins: a beach trip, a new car, a new role.
    "en2": _user(
        "en2",
        [
            (
                "2024-03-01 17:30:00",
                [
                    "Spring break is coming and I want ideas for a road trip with my twins, they're "
                    "eight.",
                    "Fun! Where are you starting from, and how far are you willing to drive?",
                    "We're in Austin. Max five hours each way, we drive a 2015 Honda Odyssey that's "
                    "seen better days.",
                    "Within five hours you could reach San Antonio, Fredericksburg or even Galveston "
                    "for a beach day.",
                    "Galveston could work, Leo is obsessed with sharks and Mia wants to collect shells.",
                    "Then the Moody Gardens aquarium for Leo and the west end beaches for Mia.",
                ],
            ),
            (
                "2024-03-25 08:00:00",
                [
                    "We got back from Galveston yesterday, Leo saw a sand tiger shark at the aquarium "
                    "and hasn't stopped talking about it.",
                    "That's a core memory for him! Did Mia get her shells?",
                    "A whole bucket. By the way, I teach chemistry at a high school, and I want a fun "
                    "lab about ocean acidification for my sophomores.",
                    "A classic is bubbling CO2 through water with a pH indicator and dropping in "
                    "seashells to watch them react.",
                    "Perfect, I could even use some of Mia's shells.",
                    "Just ask her permission first, she may be attached to them!",
                ],
            ),
            (
                "2024-05-13 20:00:00",
                [
                    "My wife Sarah just got promoted to principal architect at her firm, so we're "
                    "celebrating this weekend.",
                    "Congratulations to Sarah! How are you planning to celebrate?",
                    "I'm going to smoke a brisket, I've been perfecting my rub for a year. It's "
                    "coffee, black pepper and smoked paprika.",
                    "Coffee in a rub adds great depth. How long do you usually smoke it?",
                    "About 12 hours at 250 on my offset smoker.",
                    "Low and slow, the Texas way. Sounds like a great celebration.",
                ],
            ),
            (
                "2024-08-19 19:30:00",
                [
                    "We finally retired the Odyssey, last Thursday we picked up a used Kia Carnival "
                    "hybrid.",
                    "Nice upgrade! The hybrid should help a lot with gas money.",
                    "Yeah. Also the twins started third grade this week, and Leo joined the school's "
                    "robotics club.",
                    "Robotics is a great fit for a curious kid. Is Mia doing any clubs?",
                    "Mia picked art club. And I've moved up to science department head at my school, "
                    "so less teaching and more meetings.",
                    "Congrats on the new role! Department head is a big step.",
                ],
            ),
        ],
    ),
    # A freelance designer in Manchester: an engagement, wedding plans, new prices.
    "en3": _user(
        "en3",
        [
            (
                "2024-01-08 12:00:00",
                [
                    "I'm a freelance graphic designer and I keep underquoting clients. How should I "
                    "price a logo project?",
                    "A common approach is value-based pricing. What's your usual day rate?",
                    "I charge £300 a day at the moment, and a logo usually takes me about four days.",
                    "So around £1,200 as a baseline, plus a premium for usage rights on larger clients.",
                    "Makes sense. Most of my clients are small breweries around Manchester.",
                    "Breweries love strong branding; a niche like that lets you charge more.",
                    "My partner Tom, who teaches PE at a secondary school, says even his Year 9s "
                    "negotiate better than I do.",
                    "Tom has a point! Practise saying your price out loud before the next call.",
                ],
            ),
            (
                "2024-02-19 21:45:00",
                [
                    "Tom proposed to me the day before yesterday, on a boat on Lake Windermere!",
                    "Congratulations!! How did he pull off the surprise?",
                    "He pretended it was a birthday trip for his mum. I had absolutely no idea.",
                    "Ha, that's some serious planning. Have you thought about a date?",
                    "We're thinking of a small wedding next summer at a barn venue in the Peak "
                    "District.",
                    "A barn in the Peak District would be gorgeous, just book early, they fill up "
                    "fast.",
                ],
            ),
            (
                "2024-03-18 18:00:00",
                [
                    "I've started learning Spanish because we want our honeymoon to be in Andalusia.",
                    "¡Qué bien! Seville and Granada are magical. How are you learning?",
                    "An evening class at the Instituto Cervantes in Manchester, every Tuesday.",
                    "Classes plus a bit of daily practice will get you conversational by the trip.",
                    "Also, I'm coeliac, so I'm nervous about eating out in Spain.",
                    'Spain is quite coeliac-friendly; look for the "sin gluten" label on menus.',
                ],
            ),
            (
                "2024-05-27 10:30:00",
                [
                    "Change of plans, the barn fell through, so we booked a registry office ceremony "
                    "in Manchester with a party at a Northern Quarter bar afterwards.",
                    "That sounds relaxed and fun. Is the date the same?",
                    "We moved it earlier, to 14 September this year.",
                    "That's not long! Do you need help with invitations?",
                    "I'll design those myself obviously. Business is good, I raised my day rate to "
                    "£400 last month and nobody complained.",
                    "Well deserved, and the invitations will double as a showcase of your work.",
                ],
            ),
        ],
    ),
    # A data analyst in Toronto: a promotion, a girlfriend's family, phones and coffee.
    "en4": _user(
        "en4",
        [
            (
                "2024-04-02 22:00:00",
                [
                    "I can't sleep before big presentations. I'm a data analyst at a bank in Toronto "
                    "and I present to execs tomorrow.",
                    "Pre-presentation nerves are common. Want a quick breathing routine or tips on the "
                    "deck itself?",
                    "Breathing routine please. Caffeine doesn't help either, I drink like four "
                    "espressos a day.",
                    "Try 4-7-8 breathing, and no coffee after 2 pm. Four espressos is a lot to clear.",
                    "I play goalie in a beer-league hockey team on Wednesdays, maybe that's the stress "
                    "relief I need.",
                    "Hockey is a great outlet. Just make sure you're hydrating after late games.",
                ],
            ),
            (
                "2024-04-29 19:30:00",
                [
                    "Update: the exec presentation went well, and three days ago my manager told me "
                    "I'm getting promoted to senior analyst.",
                    "That's fantastic news, all that preparation paid off!",
                    "My girlfriend Jenna took me out for Korean BBQ to celebrate. Now I want to learn "
                    "to cook Korean food myself.",
                    "Great cuisine to learn. Start with kimchi jjigae or bulgogi, both are forgiving.",
                    "Jenna is Korean-Canadian, her grandma makes the best kimchi, maybe she'll teach "
                    "me.",
                    "Learning from her grandma would be the best possible teacher.",
                ],
            ),
            (
                "2024-06-10 08:15:00",
                [
                    "My phone died at the rink last night, it was a Pixel 6. Thinking about what to "
                    "get.",
                    "Do you want to stay on Android, or are you open to switching?",
                    "Staying on Android, everything I use is Google. Budget around 800 CAD.",
                    "Then the Pixel 8 or a Galaxy S24 would fit that budget.",
                    "Also I've cut down to one espresso a day since April, sleep's way better.",
                    "That's a big change, your sleep will thank you.",
                ],
            ),
            (
                "2024-06-24 21:00:00",
                [
                    "Went with the Galaxy S24 in the end, got it on sale.",
                    "Good choice. How are you finding Samsung's software after the Pixel?",
                    "Bit of a learning curve. Bigger news, Jenna and I are moving in together in "
                    "August, we signed a lease in Leslieville.",
                    "Congrats! Leslieville is a great neighbourhood with lots of cafes.",
                    "And her grandma's first kimchi lesson is this Sunday, I'm nervous.",
                    "You'll do great, just bring an appetite and an apron.",
                ],
            ),
        ],
    ),
}

LANGUAGE: dict[str, str] = {user: user[:2] for user in USERS}
"""The language each user speaks ("zh" or "en"); questions are asked in it."""


def _q(
    qid: str,
    category: str,
    question: str,
    evidence: list[str],
    answer: str,
    stale: list[str] | None = None,
) -> dict:
    """A question; `evidence` and `stale` are short ids within the user (`s2-m3`)."""
    user = qid.split("-")[0]
    item = {
        "id": qid,
        "user": user,
        "question": question,
        "category": category,
        "evidence": [f"{user}-{local}" for local in evidence],
        "answer": answer,
    }
    if stale is not None:
        item["stale"] = [f"{user}-{local}" for local in stale]
    return item


QUESTIONS: list[dict] = [
    # zh1
    _q("zh1-q1", "single", "有哪种水果用户吃了会不舒服？", ["s2-m5"], "芒果（她对芒果过敏）"),
    _q("zh1-q2", "single", "用户家里的狗是什么品种，名字叫什么？", ["s3-m5"], "柯基，名叫豆包"),
    _q(
        "zh1-q3",
        "multi_hop",
        "负责遛狗的那个孩子今年多大？",
        ["s3-m5", "s1-m1"],
        "六岁（遛豆包的是她女儿）",
    ),
    _q(
        "zh1-q4",
        "multi_hop",
        "豆包的小主人在动物园里最喜欢哪种动物？",
        ["s3-m5", "s2-m1"],
        "大熊猫",
    ),
    _q("zh1-q5", "time", "用户是哪天带孩子去看熊猫的？", ["s2-m1"], "2024-03-16（周六）"),
    _q("zh1-q6", "time", "用户一家是哪天搬进新住处的？", ["s4-m1"], "2024-05-04"),
    _q("zh1-q7", "updated", "用户现在住在杭州哪个区？", ["s4-m1"], "滨江区", stale=["s1-m3"]),
    _q(
        "zh1-q8",
        "updated",
        "用户目前干的是什么工作？",
        ["s3-m1"],
        "在新能源车企做用户研究",
        stale=["s1-m5"],
    ),
    # zh2
    _q("zh2-q1", "single", "医生给用户的腿伤下了什么诊断？", ["s2-m3"], "髂胫束综合征"),
    _q("zh2-q2", "single", "用户老家是哪儿的？", ["s3-m3"], "潮汕"),
    _q(
        "zh2-q3",
        "multi_hop",
        "用户全马的实际用时比赛前定的目标快了多少？",
        ["s1-m5", "s2-m1"],
        "快了约8分钟（目标四小时内，实际3小时52分）",
    ),
    _q(
        "zh2-q4",
        "multi_hop",
        "用户半程和全程比赛的成绩分别是多少？",
        ["s1-m3", "s2-m1"],
        "半马1小时50分，全马3小时52分",
    ),
    _q("zh2-q5", "time", "用户是哪一天完成那场全程比赛的？", ["s2-m1"], "2024-03-24"),
    _q("zh2-q6", "time", "用户什么时候换成苹果手机的？", ["s4-m1"], "2024-06-02"),
    _q(
        "zh2-q7", "updated", "用户现在用的是哪款手机？", ["s4-m1"], "iPhone 15 Pro", stale=["s1-m7"]
    ),
    _q(
        "zh2-q8",
        "updated",
        "用户最近一周的跑步量大约有多少？",
        ["s4-m5"],
        "每周二十公里左右",
        stale=["s1-m3"],
    ),
    # zh3
    _q("zh3-q1", "single", "用户养的猫是什么品种？", ["s1-m5"], "英短蓝猫"),
    _q(
        "zh3-q2",
        "single",
        "如果去日本，用户最想去哪里打卡？",
        ["s2-m5"],
        "京都的伏见稻荷大社（穿和服拍照）",
    ),
    _q(
        "zh3-q3",
        "multi_hop",
        "用户读研时学的方向，和她毕业后签约的单位是做什么的？",
        ["s1-m1", "s3-m3"],
        "环境工程；深圳一家环保咨询公司",
    ),
    _q("zh3-q4", "multi_hop", "用户那只英短现在跟她生活在哪座城市？", ["s1-m5", "s4-m3"], "深圳"),
    _q("zh3-q5", "time", "用户是哪天拿下硕士学位答辩的？", ["s3-m1"], "2024-04-19（周五）"),
    _q(
        "zh3-q6",
        "time",
        "2024年7月14日，用户的猫有什么变化？",
        ["s4-m5"],
        "终于肯从床底下出来吃饭了",
    ),
    _q("zh3-q7", "updated", "用户现在在哪座城市生活？", ["s4-m1"], "深圳南山区", stale=["s1-m1"]),
    _q(
        "zh3-q8",
        "updated",
        "用户今年的出游计划定在哪里？",
        ["s4-m7"],
        "国庆去新疆自驾（日本之行取消了）",
        stale=["s2-m1"],
    ),
    # zh4
    _q("zh4-q1", "single", "用户的妻子晚上通常做什么消遣？", ["s3-m5"], "跳广场舞"),
    _q("zh4-q2", "single", "用户退休前从事什么职业？", ["s1-m1"], "中学语文老师"),
    _q(
        "zh4-q3",
        "multi_hop",
        "送用户救生衣的那个人是做什么工作的？",
        ["s4-m5", "s2-m3"],
        "在上海当医生（用户的儿子）",
    ),
    _q(
        "zh4-q4",
        "multi_hop",
        "用户去学写字是受了谁的影响，现在练到哪一步了？",
        ["s2-m5", "s3-m3"],
        "受孙子启发；楷书有底子，开始练行书",
    ),
    _q("zh4-q5", "time", "用户的孙子是哪天满一岁的？", ["s2-m1"], "2024-05-19"),
    _q(
        "zh4-q6",
        "time",
        "2024年8月10日那天，用户出海垂钓有什么收获？",
        ["s4-m1"],
        "钓到一条三斤多的黑鲷",
    ),
    _q("zh4-q7", "updated", "用户目前在服用哪种降血压的药？", ["s3-m1"], "缬沙坦", stale=["s1-m5"]),
    _q(
        "zh4-q8",
        "updated",
        "用户最近通常去哪里钓鱼？",
        ["s4-m3"],
        "崂山那边的礁石",
        stale=["s1-m3"],
    ),
    # en1
    _q(
        "en1-q1",
        "single",
        "Which ingredient does the user refuse to eat?",
        ["s1-m3"],
        "mushrooms (because of the texture)",
    ),
    _q(
        "en1-q2",
        "single",
        "Whose instrument is the user learning to play on?",
        ["s2-m7"],
        "their grandfather's old acoustic Martin guitar",
    ),
    _q(
        "en1-q3",
        "multi_hop",
        "What is the profession of the relative the user went on a hike with in February?",
        ["s2-m1", "s1-m7"],
        "pediatric nurse in Boston (sister Priya)",
    ),
    _q(
        "en1-q4",
        "multi_hop",
        "Is the user still studying with the jazz musician who taught them each week?",
        ["s2-m5", "s4-m5"],
        "no: lessons with Marcus are paused since the move to Denver",
    ),
    _q(
        "en1-q5",
        "time",
        "When did the user's sibling come over for an outdoor trip?",
        ["s2-m1"],
        "2024-02-24 (a Saturday)",
    ),
    _q(
        "en1-q6",
        "time",
        "What happened in the user's life on 22 June 2024?",
        ["s4-m1"],
        "moved into a new place in Denver's Highlands neighborhood",
    ),
    _q(
        "en1-q7",
        "updated",
        "Which city is the user living in now?",
        ["s4-m1"],
        "Denver",
        stale=["s1-m5"],
    ),
    _q(
        "en1-q8",
        "updated",
        "What kind of work does the user do now?",
        ["s3-m1", "s3-m3"],
        "backend engineering at a climate-tech startup",
        stale=["s2-m9"],
    ),
    # en2
    _q(
        "en2-q1",
        "single",
        "What goes into the user's brisket seasoning?",
        ["s3-m3"],
        "coffee, black pepper and smoked paprika",
    ),
    _q(
        "en2-q2",
        "single",
        "What career milestone did the user's spouse just reach?",
        ["s3-m1"],
        "promoted to principal architect",
    ),
    _q(
        "en2-q3",
        "multi_hop",
        "Which sea creature fascinates the twin who builds robots?",
        ["s4-m3", "s1-m5"],
        "sharks (Leo)",
    ),
    _q(
        "en2-q4",
        "multi_hop",
        "Which after-school group did the shell-collecting twin join?",
        ["s1-m5", "s4-m5"],
        "art club (Mia)",
    ),
    _q(
        "en2-q5",
        "time",
        "On what day did the family get home from their coast trip?",
        ["s2-m1"],
        "2024-03-24",
    ),
    _q(
        "en2-q6",
        "time",
        "When did the family buy the car they drive now?",
        ["s4-m1"],
        "2024-08-15 (a Thursday)",
    ),
    _q(
        "en2-q7",
        "updated",
        "What vehicle does the family use these days?",
        ["s4-m1"],
        "a used Kia Carnival hybrid",
        stale=["s1-m3"],
    ),
    _q(
        "en2-q8",
        "updated",
        "What is the user's position at work now?",
        ["s4-m5"],
        "science department head",
        stale=["s2-m3"],
    ),
    # en3
    _q(
        "en3-q1",
        "single",
        "What health condition limits what the user can eat?",
        ["s3-m5"],
        "coeliac disease (she must eat gluten-free)",
    ),
    _q(
        "en3-q2",
        "single",
        "What sort of businesses hire the user most often?",
        ["s1-m5"],
        "small breweries around Manchester",
    ),
    _q(
        "en3-q3",
        "multi_hop",
        "What subject does the user's fiancé teach?",
        ["s2-m1", "s1-m7"],
        "PE, at a secondary school",
    ),
    _q(
        "en3-q4",
        "multi_hop",
        "At the user's current prices, what would a typical logo job cost?",
        ["s1-m3", "s4-m5"],
        "about £1,600 (four days at £400)",
    ),
    _q("en3-q5", "time", "On what date did the user get engaged?", ["s2-m1"], "2024-02-17"),
    _q("en3-q6", "time", "In which month did the user increase her fees?", ["s4-m5"], "April 2024"),
    _q(
        "en3-q7",
        "updated",
        "Where is the wedding going to be held?",
        ["s4-m1"],
        "a registry office in Manchester, then a party at a Northern Quarter bar",
        stale=["s2-m5"],
    ),
    _q(
        "en3-q8",
        "updated",
        "How much does the user bill for a day of work now?",
        ["s4-m5"],
        "£400",
        stale=["s1-m3"],
    ),
    # en4
    _q("en4-q1", "single", "What position does the user play on the ice?", ["s1-m5"], "goalie"),
    _q(
        "en4-q2",
        "single",
        "Which part of the city are the user and his partner moving to?",
        ["s4-m3"],
        "Leslieville (Toronto)",
    ),
    _q(
        "en4-q3",
        "multi_hop",
        "What is the heritage of the person the user is about to share a home with?",
        ["s4-m3", "s2-m5"],
        "Korean-Canadian (his girlfriend Jenna)",
    ),
    _q(
        "en4-q4",
        "multi_hop",
        "What is the user's new title, and what kind of company employs him?",
        ["s2-m1", "s1-m1"],
        "senior analyst at a bank in Toronto",
    ),
    _q(
        "en4-q5",
        "time",
        "When did the user hear that he would be moving up at work?",
        ["s2-m1"],
        "2024-04-26",
    ),
    _q(
        "en4-q6",
        "time",
        "On what date did the user's previous phone stop working?",
        ["s3-m1"],
        "2024-06-09 (at the hockey rink)",
    ),
    _q(
        "en4-q7",
        "updated",
        "What phone does the user carry now?",
        ["s4-m1"],
        "Samsung Galaxy S24",
        stale=["s3-m1"],
    ),
    _q(
        "en4-q8",
        "updated",
        "How much coffee does the user have per day these days?",
        ["s3-m5"],
        "one espresso",
        stale=["s1-m3"],
    ),
]
