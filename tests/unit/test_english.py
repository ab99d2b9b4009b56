import pytest

from services.extractor.english import third_person

ALLERGY = "I am allergic to peanuts, and my daughter Emma just started learning piano."


def user(text: str, recent: tuple[str, ...] = ()) -> str:
    return third_person(text, "the user", "the assistant", recent)


def caroline(text: str, recent: tuple[str, ...] = ()) -> str:
    return third_person(text, "Caroline", "Melanie", recent)


def test_first_person_statement_with_the_user() -> None:
    assert user(ALLERGY) == (
        "The user is allergic to peanuts, and the user's daughter Emma just started learning piano."
    )


def test_follow_up_resolves_she_and_we_from_the_turn_before() -> None:
    text = "She is 7. We live in Hangzhou now, moved from Beijing last year."
    assert user(text, (ALLERGY,)) == (
        "Emma is 7. The user's family lives in Hangzhou now, moved from Beijing last year."
    )


def test_named_speaker() -> None:
    assert caroline("I love painting and my kids love it too") == (
        "Caroline loves painting and Caroline's kids love it too"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I am tired.", "Caroline is tired."),
        ("I'm tired.", "Caroline is tired."),
        ("I was tired.", "Caroline was tired."),
        ("I have a dog.", "Caroline has a dog."),
        ("I've got a dog.", "Caroline has got a dog."),
        ("I've been busy.", "Caroline has been busy."),
        ("I do yoga.", "Caroline does yoga."),
        ("I don't eat meat.", "Caroline doesn't eat meat."),
        ("I haven't seen it.", "Caroline hasn't seen it."),
        ("I'll call later.", "Caroline will call later."),
        ("I will call later.", "Caroline will call later."),
        ("I'd love that.", "Caroline would love that."),
        ("I'd never seen snow.", "Caroline had never seen snow."),
        ("I wanna see it.", "Caroline wants to see it."),
    ],
)
def test_first_person_auxiliaries_and_contractions(text: str, expected: str) -> None:
    assert caroline(text) == expected


def test_curly_apostrophes_are_understood_and_kept() -> None:
    assert caroline("I’m happy and I don’t mind.") == "Caroline is happy and Caroline doesn’t mind."


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I love it.", "Caroline loves it."),
        ("I go running.", "Caroline goes running."),
        ("I watch TV.", "Caroline watches TV."),
        ("I try hard.", "Caroline tries hard."),
        ("I play chess.", "Caroline plays chess."),
        ("I miss her.", "Caroline misses her."),
        ("I need help.", "Caroline needs help."),
        ("I really love it.", "Caroline really loves it."),
        ("I also have a cat.", "Caroline also has a cat."),
        ("I sincerely hope so.", "Caroline sincerely hopes so."),
    ],
)
def test_present_verbs_agree(text: str, expected: str) -> None:
    assert caroline(text) == expected


@pytest.mark.parametrize(
    "verb", ["can", "could", "should", "might", "must", "would", "will", "can't", "won't"]
)
def test_modals_stay(verb: str) -> None:
    assert caroline(f"I {verb} swim.") == f"Caroline {verb} swim."


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I just started piano.", "Caroline just started piano."),
        ("I went home.", "Caroline went home."),
        ("I retook the test.", "Caroline retook the test."),
        ("I did it.", "Caroline did it."),
        ("I read it.", "Caroline read it."),  # present or past: left as said
    ],
)
def test_past_tense_stays(text: str, expected: str) -> None:
    assert caroline(text) == expected


def test_second_verb_of_the_same_subject_agrees() -> None:
    assert caroline("I stay positive and find a way.") == "Caroline stays positive and finds a way."


def test_noun_after_and_is_not_conjugated() -> None:
    assert caroline("I love pizza and pasta.") == "Caroline loves pizza and pasta."


def test_compound_subject_keeps_its_plural_verb() -> None:
    assert caroline("My mom and I love hiking.") == "Caroline's mom and Caroline love hiking."


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mine is red.", "Caroline's is red."),
        ("Give it to me.", "Give it to Caroline."),
        ("I taught myself guitar.", "Caroline taught themselves guitar."),
        ("It was a gift for myself.", "It was a gift for Caroline."),
        ("I myself love it.", "Caroline loves it."),
    ],
)
def test_me_mine_myself(text: str, expected: str) -> None:
    assert caroline(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("You are great.", "Melanie is great."),
        ("You're great.", "Melanie is great."),
        ("You were right.", "Melanie was right."),
        ("You have a dog.", "Melanie has a dog."),
        ("You've changed.", "Melanie has changed."),
        ("You look great.", "Melanie looks great."),
        ("I hope you love it.", "Caroline hopes Melanie loves it."),
        ("Any plans you want to share?", "Any plans Melanie wants to share?"),
        ("Your plan is good.", "Melanie's plan is good."),
        ("Is this yours?", "Is this Melanie's?"),
        ("I miss you so much.", "Caroline misses Melanie so much."),
        ("Let me give you advice.", "Let Caroline give Melanie advice."),
        ("Take care of yourself.", "Take care of Melanie."),
        ("You should be proud of yourself.", "Melanie should be proud of themselves."),
        ("I love you guys!", "Caroline loves Melanie and others!"),
    ],
)
def test_second_person_is_the_listener(text: str, expected: str) -> None:
    assert caroline(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Are you going?", "Is Melanie going?"),
        ("Where are you now?", "Where is Melanie now?"),
        ("How're you doing?", "How is Melanie doing?"),
        ("Were you there?", "Was Melanie there?"),
        ("Do you like it?", "Does Melanie like it?"),
        ("Have you tried it?", "Has Melanie tried it?"),
        ("Did you go?", "Did Melanie go?"),
        ("Can you come?", "Can Melanie come?"),
        ("Do I need a ticket?", "Does Caroline need a ticket?"),
        ("What do you and your family do?", "What do Melanie and Melanie's family do?"),
    ],
)
def test_question_inversion(text: str, expected: str) -> None:
    assert caroline(text) == expected


def test_have_after_to_is_no_question() -> None:
    assert caroline("Glad to have you.") == "Glad to have Melanie."


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Thank you so much!", "Caroline thanks Melanie so much!"),
        ("Thank you, Melanie!", "Caroline thanks Melanie!"),
        ("That's nice of you, Melanie.", "That's nice of Melanie."),
        ("You're welcome!", "You're welcome!"),
        ("It's fun, you know?", "It's fun, you know?"),
    ],
)
def test_set_phrases(text: str, expected: str) -> None:
    assert caroline(text) == expected


def test_assistant_speaking_to_the_user() -> None:
    assert third_person("I can help you with your trip.", "the assistant", "the user") == (
        "The assistant can help the user with the user's trip."
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("We love our kids.", "The user's family loves the user's kids."),
        ("We're here.", "The user's family is here."),
        ("We've moved.", "The user's family has moved."),
        ("We were tired.", "The user's family was tired."),
        ("Are we late?", "Is the user's family late?"),
        ("My husband joined us.", "The user's husband joined the user's family."),
    ],
)
def test_we_is_the_family_when_the_turn_or_the_one_before_names_it(
    text: str, expected: str
) -> None:
    assert user(text, ("I have two kids with my wife.",)) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("We live in Hangzhou.", "Caroline and others live in Hangzhou."),
        ("We're here.", "Caroline and others are here."),
        ("Are we late?", "Are Caroline and others late?"),
        ("We went hiking with friends.", "Caroline and others went hiking with friends."),
        ("Join us!", "Join Caroline and others!"),
        ("Our town is small.", "Caroline's town is small."),
    ],
)
def test_we_is_the_speaker_and_others_without_family(text: str, expected: str) -> None:
    assert caroline(text) == expected


def test_we_follows_the_nearest_group_named() -> None:
    recent = ("Caroline: My kids are great.", "Caroline: I also love my book club.")
    assert caroline("We meet weekly.", recent) == "Caroline and others meet weekly."


def test_listener_asking_about_your_family_makes_we_the_family() -> None:
    recent = ("Melanie: What do you do with your family?",)
    assert caroline("We go hiking.", recent) == "Caroline's family goes hiking."


def test_listener_own_family_says_nothing_about_our_we() -> None:
    recent = ("Melanie: My family moved too.",)
    assert caroline("We moved.", recent) == "Caroline and others moved."


def test_since_we_talked_is_speaker_and_listener() -> None:
    assert caroline("A lot happened since we last talked.") == (
        "A lot happened since Caroline and Melanie last talked."
    )


@pytest.mark.parametrize(
    ("text", "recent", "expected"),
    [
        ("He is 5.", ("My daughter Emma and my son Jack play.",), "Jack is 5."),
        ("My dog Max is old. He sleeps a lot.", (), "Caroline's dog Max is old. Max sleeps a lot."),
        (
            "Her teacher is nice.",
            ("Melanie: How is your daughter Emma?",),
            "Emma's teacher is nice.",
        ),
        ("She's 7.", (ALLERGY,), "Emma's 7."),
        (
            "I met a woman, Jean, there. She was kind.",
            (),
            "Caroline met a woman, Jean, there. Jean was kind.",
        ),
    ],
)
def test_third_person_pronoun_resolves_to_the_one_named_person(
    text: str, recent: tuple[str, ...], expected: str
) -> None:
    assert caroline(text, recent) == expected


def test_pronoun_stays_when_two_names_fit() -> None:
    recent = ("My friend Anna met my sister Lucy.",)
    assert caroline("She was happy.", recent) == "She was happy."


def test_pronoun_stays_when_an_unnamed_person_came_after_the_name() -> None:
    recent = ("My daughter Emma came too.", "We saw a little girl there.")
    assert caroline("She seemed sad.", recent) == "She seemed sad."


def test_pronoun_stays_without_a_named_person() -> None:
    assert caroline("She is 7.", ("I love my kids.",)) == "She is 7."


def test_pronoun_inside_a_sentence_stays() -> None:
    assert caroline("Yes, she is 7.", (ALLERGY,)) == "Yes, she is 7."


def test_speakers_are_never_the_referent() -> None:
    recent = ("Melanie: My friend Caroline is here.",)
    assert caroline("She is happy.", recent) == "She is happy."


def test_photo_caption_is_untouched() -> None:
    text = "I love this! [shares a photo: I love my dog and you]"
    assert caroline(text) == "Caroline loves this! [shares a photo: I love my dog and you]"


def test_quotation_is_untouched() -> None:
    assert caroline('She said "I love you" to me.') == 'She said "I love you" to Caroline.'


def test_numbers_and_dates_are_untouched() -> None:
    assert caroline("On 8 May, 2023 I ran 5K in 25:30.") == (
        "On 8 May, 2023 Caroline ran 5K in 25:30."
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("i love it. my dog too.", "The user loves it. The user's dog too."),
        ("Hey, I love it and my dog too.", "Hey, the user loves it and the user's dog too."),
        ("Wow! Me too.", "Wow! The user too."),
    ],
)
def test_the_user_is_capitalised_only_at_sentence_start(text: str, expected: str) -> None:
    assert user(text) == expected


def test_names_keep_their_case() -> None:
    assert caroline("Hey, I'm back.") == "Hey, Caroline is back."


def test_roman_numeral_and_ie_are_not_pronouns() -> None:
    assert caroline("World War I was long, i.e. very.") == "World War I was long, i.e. very."


def test_turn_without_pronouns_is_returned_as_is() -> None:
    text = "Looks good! How did the extra funding help?"
    assert caroline(text) is text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("You bet! You'll be the first to know.", "You bet! Melanie will be the first to know."),
        ("You never know what happens.", "You never know what happens."),
        ("See you soon!", "See you soon!"),
        ("Bye, see you later.", "Bye, see you later."),
        ("I will see you at the game.", "Caroline will see Melanie at the game."),
        ("You bet on the horse?", "Melanie bet on the horse?"),
    ],
)
def test_set_phrases_with_you_name_nobody(text: str, expected: str) -> None:
    assert caroline(text) == expected
