"""The preference dataset: hand-written dialogues of four users (two speaking Chinese, two
English) who state their likes, dislikes, habits and constraints among other talk, and requests
they later make of an assistant, each naming the messages whose preference bears on it.

The requests are what a user asks an assistant to do ("帮我订个酒店", "Pick a seat for my
flight"), not questions about the preference: a memory service earns its keep when the
preference comes back for a request that does not mention it. `updated` requests name a
preference that changed in a later session; `stale` is the older one.
"""

from tests.eval.data import _q, _user

USERS: dict[str, list[dict]] = {
    # An office worker in Shanghai who travels for work.
    "pz1": _user(
        "pz1",
        [
            (
                "2025-03-03 09:00:00",
                [
                    "下周要去深圳出差三天，帮我记一下：我出差一般住全季，安静又干净。",
                    "好的，记住了。需要我帮你看看深圳的全季吗？",
                    "先不用。另外我坐飞机喜欢靠过道的位置，方便起身。",
                    "明白。",
                    "对了，我不吃辣，也不吃香菜，点外卖的时候注意一下。",
                    "好的，不辣不放香菜。",
                ],
            ),
            (
                "2025-03-20 20:00:00",
                [
                    "最近在学游泳，每周二和周四晚上去小区的泳池。",
                    "坚持下来很不错。",
                    "我看书只看纸质书，电子书看着眼睛累。",
                    "纸质书确实更舒服。",
                    "周末我比较喜欢去博物馆和看展，不喜欢逛商场，人太多。",
                    "了解。",
                    "我每天早上都要喝一杯拿铁。",
                    "好的。",
                ],
            ),
            (
                "2025-05-10 10:00:00",
                [
                    "我现在改喝美式了，拿铁太腻，以后帮我点咖啡都点冰美式。",
                    "好的，冰美式。",
                    "还有，我对海鲜过敏，吃了会起疹子。",
                    "这个很重要，记下了。",
                ],
            ),
        ],
    ),
    # A father in Chengdu: a five-year-old son, a pregnant wife.
    "pz2": _user(
        "pz2",
        [
            (
                "2025-04-05 19:00:00",
                [
                    "周末想带儿子出去玩，他五岁，特别喜欢恐龙。",
                    "可以去自然博物馆看看恐龙化石。",
                    "我们家出门一般自驾，不太喜欢挤地铁。",
                    "自驾确实方便。",
                    "住的话我喜欢带泳池的酒店，孩子爱玩水。",
                    "明白。",
                ],
            ),
            (
                "2025-04-18 21:00:00",
                [
                    "我老婆怀孕了，最近吃东西比较挑，不吃生冷的。",
                    "恭喜！孕期饮食确实要注意。",
                    "我自己喜欢听相声和评书，开车的时候经常听。",
                    "开车听相声挺解闷的。",
                    "我不喜欢太甜的东西，蛋糕之类的基本不碰。",
                    "好的。",
                ],
            ),
            (
                "2025-06-01 10:00:00",
                [
                    "儿子现在不喜欢恐龙了，迷上了奥特曼。",
                    "小朋友兴趣变得快。",
                    "我手机习惯用安卓，苹果用不惯。",
                    "明白。",
                ],
            ),
        ],
    ),
    # A software engineer in Seattle.
    "pe1": _user(
        "pe1",
        [
            (
                "2025-02-10 18:00:00",
                [
                    "I'm flying to Berlin next month for a conference. I always pick an aisle "
                    "seat on long flights.",
                    "Noted, aisle seat for long flights.",
                    "I'm vegetarian, so keep that in mind for any restaurant suggestions.",
                    "Will do.",
                    "I prefer boutique hotels over big chains, they have more character.",
                    "Great, boutique hotels it is.",
                ],
            ),
            (
                "2025-03-02 20:00:00",
                [
                    "I've been getting into bouldering; I go to the gym near my office twice "
                    "a week.",
                    "Bouldering is a great workout.",
                    "For podcasts I love long-form history shows, especially anything about Rome.",
                    "There are some great ones.",
                    "I can't stand horror movies, they give me nightmares.",
                    "Got it, no horror.",
                ],
            ),
            (
                "2025-04-15 09:00:00",
                [
                    "I drink my coffee black, no sugar.",
                    "Simple and classic.",
                    "Please keep your answers short, I prefer bullet points to long paragraphs.",
                    "Understood.",
                    "I'm now trying a vegan diet, so no dairy or eggs either.",
                    "Good luck with it.",
                ],
            ),
        ],
    ),
    # A retired teacher in Bristol.
    "pe2": _user(
        "pe2",
        [
            (
                "2025-05-05 10:00:00",
                [
                    "My granddaughter Lily is visiting in June. She loves strawberries and "
                    "hates loud noises.",
                    "Sounds like a lovely visit.",
                    "I don't drive anymore, so I take the bus or a taxi everywhere.",
                    "Noted.",
                    "I'm a big fan of jazz, Ella Fitzgerald most of all.",
                    "Wonderful.",
                ],
            ),
            (
                "2025-05-20 15:00:00",
                [
                    "My doctor told me to cut back on salt, so I avoid salty snacks now.",
                    "That's sensible.",
                    "I enjoy gardening in the mornings, roses mostly.",
                    "Roses are beautiful.",
                    "I prefer phone calls to text messages; my eyesight isn't great.",
                    "Understood, calls it is.",
                ],
            ),
            (
                "2025-06-10 11:00:00",
                [
                    "I like mystery novels, Agatha Christie is my favourite author.",
                    "Classic choice.",
                    "I'm not a fan of crowded places, so I'd rather visit museums on weekdays.",
                    "Weekdays are quieter.",
                ],
            ),
        ],
    ),
}

LANGUAGE: dict[str, str] = {user: "zh" if user.startswith("pz") else "en" for user in USERS}

REQUESTS: list[dict] = [
    _q("pz1-q1", "single", "帮我订一下下个月去北京出差的酒店", ["s1-m1"], "全季"),
    _q("pz1-q2", "single", "帮我选个航班座位", ["s1-m3"], "靠过道"),
    _q("pz1-q3", "single", "今晚点什么外卖好", ["s1-m5", "s3-m3"], "不辣、不放香菜、不要海鲜"),
    _q("pz1-q4", "single", "这周末有什么安排建议吗", ["s2-m5"], "博物馆、看展，不逛商场"),
    _q("pz1-q5", "updated", "帮我买杯咖啡", ["s3-m1"], "冰美式", stale=["s2-m7"]),
    _q("pz1-q6", "single", "推荐几本书给我", ["s2-m3"], "纸质书"),
    _q("pz1-q7", "single", "公司聚餐去吃海鲜自助怎么样", ["s3-m3"], "对海鲜过敏"),
    _q("pz2-q1", "updated", "儿子生日送什么礼物好", ["s3-m1"], "奥特曼", stale=["s1-m1"]),
    _q("pz2-q2", "single", "五一出游怎么去比较好", ["s1-m3"], "自驾"),
    _q("pz2-q3", "single", "帮我们订个度假酒店", ["s1-m5"], "带泳池"),
    _q("pz2-q4", "single", "帮我老婆点份晚餐", ["s2-m1"], "不吃生冷"),
    _q("pz2-q5", "single", "开车路上听点什么", ["s2-m3"], "相声、评书"),
    _q("pz2-q6", "single", "换个新手机推荐一下", ["s3-m3"], "安卓"),
    _q("pz2-q7", "single", "下午茶点点什么甜品", ["s2-m5"], "不喜欢太甜"),
    _q(
        "pe1-q1",
        "single",
        "Find me a place to stay in Lisbon for the weekend.",
        ["s1-m5"],
        "boutique",
    ),
    _q(
        "pe1-q2",
        "updated",
        "Can you suggest a restaurant for dinner tonight?",
        ["s3-m5"],
        "vegan",
        stale=["s1-m3"],
    ),
    _q("pe1-q3", "single", "Pick a seat for my flight to Tokyo.", ["s1-m1"], "aisle"),
    _q("pe1-q4", "single", "What movie should we watch on Friday night?", ["s2-m5"], "no horror"),
    _q(
        "pe1-q5",
        "single",
        "Recommend something to listen to on my commute.",
        ["s2-m3"],
        "history podcasts",
    ),
    _q(
        "pe1-q6",
        "single",
        "Order me a coffee from the cafe downstairs.",
        ["s3-m1"],
        "black, no sugar",
    ),
    _q("pe1-q7", "single", "Explain how DNS works.", ["s3-m3"], "short, bullet points"),
    _q(
        "pe2-q1", "single", "What dessert should I make when Lily comes?", ["s1-m1"], "strawberries"
    ),
    _q(
        "pe2-q2",
        "single",
        "How do I get to my hospital appointment on Tuesday?",
        ["s1-m3"],
        "bus or taxi",
    ),
    _q(
        "pe2-q3", "single", "Put on some music for the evening.", ["s1-m5"], "jazz, Ella Fitzgerald"
    ),
    _q("pe2-q4", "single", "Pick up some snacks for me at the shop.", ["s2-m1"], "not salty"),
    _q(
        "pe2-q5",
        "single",
        "How should the pharmacy contact me about my prescription?",
        ["s2-m5"],
        "phone call",
    ),
    _q(
        "pe2-q6",
        "single",
        "Recommend a book for my holiday.",
        ["s3-m1"],
        "mystery, Agatha Christie",
    ),
    _q("pe2-q7", "single", "When should I visit the British Museum?", ["s3-m3"], "weekdays"),
]
