"""blinding.py (C3): the letters, the shuffle, the words that name a model, and the redaction of
errors shown in a blind round."""

from __future__ import annotations

import random

import pytest

from workbench.blinding import blind_labels, identity_words, names_itself, redact, shuffled
from workbench.domain import ModelInfo

QWEN = ModelInfo(id="qwen3-coder-30b", provider="gw", name="Qwen3-Coder-30B",
                 upstream="Qwen/Qwen3-Coder-30B-A3B-Instruct", vendor="Alibaba")
R1 = ModelInfo(id="deepseek-r1", provider="gw", name="DeepSeek-R1", upstream="deepseek-reasoner", vendor="DeepSeek")
FLASH = ModelInfo(id="deepseek-v4-flash", provider="gw", name="DeepSeek V4 Flash", upstream="deepseek-v4-flash")
ZEPHYR = ModelInfo(id="zephyr-1", provider="stub", name="Zephyr Coder", upstream="zephyr-1")
GEMMA = ModelInfo(id="gemma3-270m", provider="local", name="Gemma 3 270M", upstream="gemma-3-270m-it", vendor="Google")


# --- letters and order -------------------------------------------------------------------------


def test_blind_labels_are_letters_in_order_then_two_letters_past_z():
    assert blind_labels(0) == []
    assert blind_labels(3) == ["A", "B", "C"]
    many = blind_labels(28)
    assert many[25:] == ["Z", "AA", "AB"]
    assert len(set(many)) == 28


def test_shuffled_is_a_new_list_of_the_same_items_and_a_seeded_rng_fixes_the_order():
    items = list(range(20))
    out = shuffled(items, random.Random(7))
    assert items == list(range(20))  # the input is left alone
    assert sorted(out) == items and out != items
    assert shuffled(items, random.Random(7)) == out
    assert sorted(shuffled(items)) == items  # the system's randomness when no rng is given


# --- identity words ----------------------------------------------------------------------------


def test_identity_words_take_names_vendor_upstream_and_id_but_not_sizes_or_generic_words():
    words = identity_words(QWEN)
    assert {"qwen", "qwen3", "alibaba", "qwen3-coder-30b"} <= words
    assert {"coder", "instruct", "30b"}.isdisjoint(words)
    assert all(w == w.lower() for w in words)


def test_identity_words_join_names_as_people_write_them():
    assert {"deepseek", "deepseek-r1", "reasoner", "deepseek-reasoner"} <= identity_words(R1)
    assert "r1" not in identity_words(R1)  # too short alone: would match "R1" in any text
    flash = identity_words(FLASH)
    assert "deepseek-v4-flash" in flash and {"v4", "flash"}.isdisjoint(flash)
    gemma = identity_words(GEMMA)
    assert {"gemma", "google", "gemma-3-270m"} <= gemma and "270m" not in gemma


# --- names_itself ------------------------------------------------------------------------------


@pytest.mark.parametrize("text, model, word", [
    ("As Qwen3, I would write it like this.", QWEN, "qwen3"),
    ("I'm DeepSeek-R1, a reasoning model.", R1, "deepseek-r1"),  # the longest word that matches
    ("i am deepseek", R1, "deepseek"),  # any case
    ("Alibaba Cloud trained me.", QWEN, "alibaba"),
    ("Made by Google.", GEMMA, "google"),
    ("Hi, Zephyr here.", ZEPHYR, "zephyr"),
])
def test_an_answer_that_names_its_model_or_maker_is_caught(text, model, word):
    assert names_itself(text, model) == word


@pytest.mark.parametrize("text, model", [
    ("", R1),
    ("Here is a pro tip: flash the firmware first.", FLASH),  # generic words are not names
    ("Use 30B parameters and a v4 API.", QWEN),  # sizes and versions are not names
    ("The deepseekers and zephyrs went home.", R1),  # a name inside a longer word is not the name
    ("As Qwen3, I would write it like this.", R1),  # another model's name is not this one's
])
def test_an_answer_that_does_not_name_its_model_passes(text, model):
    assert names_itself(text, model) is None


# --- redact ------------------------------------------------------------------------------------


def test_redact_replaces_the_id_the_name_and_the_upstream_of_the_model():
    message = "The model `zephyr-1` does not exist (Zephyr Coder is not served here)."
    assert redact(message, [ZEPHYR], "Model C") == "The model `Model C` does not exist (Model C is not served here)."


def test_redact_replaces_the_longest_form_first_and_ignores_case():
    out = redact("Qwen/Qwen3-Coder-30B-A3B-Instruct failed; QWEN3-CODER-30B retried; qwen3 gave up.", [QWEN])
    assert out == "[model] failed; [model] retried; [model] gave up."


def test_redact_covers_every_model_given_and_leaves_other_text_alone():
    message = "deepseek-r1 and zephyr-1 are overloaded: try again in 30 s (HTTP 503)."
    assert redact(message, [R1, ZEPHYR], "?") == "? and ? are overloaded: try again in 30 s (HTTP 503)."
    assert redact(message, []) == message
    assert redact("The server had an error.", [R1, ZEPHYR]) == "The server had an error."


def test_redact_leaves_nothing_that_names_itself():
    for model in (QWEN, R1, FLASH, ZEPHYR, GEMMA):
        message = f"{model.name} ({model.id}, upstream {model.upstream}, by {model.vendor or 'someone'}) failed"
        assert names_itself(redact(message, [model]), model) is None, redact(message, [model])
