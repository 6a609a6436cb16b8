from longtracerl.records import ContextDoc
from longtracerl.report.confusability import confusable_flags, tally_by_tag


def doc(pid, tag):
    return ContextDoc(page_id=pid, title=pid, tag=tag, n_tokens=1)


def test_hand_made_example_exact_numbers():
    rubrics = ["Eiffel Tower", "Paris"]
    docs = [
        doc("g", "gold"),
        doc("a", "tier1"),
        doc("b", "tier1"),
        doc("c", "tier2"),
        doc("d", "tier2"),
        doc("e", "tier2"),
        doc("f", "fill-random"),
    ]
    texts = {
        "g": "Eiffel Tower in Paris",  # gold: never counted
        "a": "The Eiffel-Tower is tall.",  # normalised 'the eiffel tower is tall' -> hit
        "b": "Lyon is a city.",
        "c": "A Parisian cafe.",  # substring semantics: 'parisian' contains 'paris' -> hit
        "d": "PARIS!",
        "e": "Eiffel and towers",  # 'eiffel tower' is not a substring
        "f": "nothing here",
    }
    assert confusable_flags(docs, rubrics, texts) == [None, True, False, True, True, False, False]
    t = tally_by_tag(docs, rubrics, texts)
    assert (t["all"].distractors, t["all"].confusable) == (6, 3)
    assert t["all"].rate == 0.5
    assert (t["tier1"].distractors, t["tier1"].confusable) == (2, 1)
    assert (t["tier2"].distractors, t["tier2"].confusable) == (3, 2)
    assert t["fill-random"].rate == 0.0
    assert "gold" not in t

    # CJK: single characters are tokens of the rubric normaliser
    docs2 = [doc("g", "gold"), doc("x", "traj"), doc("y", "traj")]
    t2 = tally_by_tag(docs2, ["北京"], {"g": "北京", "x": "我在北京。", "y": "北方"})
    assert (t2["all"].distractors, t2["all"].confusable) == (2, 1)
    t["all"].add(t2["all"])
    assert (t["all"].distractors, t["all"].confusable, t["all"].rate) == (8, 4, 0.5)


def test_no_rubrics_and_no_distractors():
    docs = [doc("g", "gold"), doc("a", "tier1")]
    assert tally_by_tag(docs, [], {"a": "anything"})["all"].rate == 0.0
    assert tally_by_tag([doc("g", "gold")], ["x"], {})["all"].rate is None
