"""Stop strings against text decoded a token at a time. With a byte-level tokenizer a multi-byte
character arrives in pieces, and its first bytes decode to U+FFFD until the rest comes: neither
the stop match nor the stream may act on that placeholder."""

from __future__ import annotations

import torch
from transformers.convert_slow_tokenizer import bytes_to_unicode

from lathe_inference.model import _Collector
from tiny import byte_tokenizer

TOKENIZER = byte_tokenizer()
BYTE_TOKEN = bytes_to_unicode()  # the ByteLevel alphabet: byte -> the character that stands for it


def feed(data: bytes, stops: list[str]) -> tuple[_Collector, list[str], int]:
    """Generate ``data`` one byte-token at a time; return the collector, what it streamed and how
    many tokens were generated before it asked to stop."""
    pieces: list[str] = []
    c = _Collector(TOKENIZER, stops, pieces.append)
    c.put(torch.tensor([TOKENIZER.bos_token_id]))  # the first put() is the prompt
    generated = 0
    for b in data:
        if c.stopped:
            break
        c.put(torch.tensor([TOKENIZER.convert_tokens_to_ids(BYTE_TOKEN[b])]))
        generated += 1
    c.end()
    return c, pieces, generated


def test_partial_character_does_not_match_a_replacement_stop() -> None:
    c, pieces, _ = feed("ab€d".encode(), ["\ufffd"])
    assert not c.stopped
    assert c.text == "ab€d"
    assert "".join(pieces) == "ab€d"
    assert not any("\ufffd" in p for p in pieces), pieces


def test_stop_after_a_multibyte_character() -> None:
    c, pieces, generated = feed("ab€dzzzz".encode(), ["€d"])
    assert c.stopped and c.text == "ab" and "".join(pieces) == "ab"
    assert generated == len("ab€d".encode())  # generation ended at the stop, not at the end


def test_an_invalid_byte_settles_once_a_character_follows_it() -> None:
    c, pieces, generated = feed(b"ab\xffxyz", ["\ufffdx"])
    assert c.stopped and c.text == "ab" and "".join(pieces) == "ab"
    assert generated == 4


def test_held_back_prefix_of_a_stop_is_released_when_the_stop_does_not_come() -> None:
    c, pieces, _ = feed(b"one tw three", ["two"])
    assert not c.stopped
    assert "".join(pieces) == "one tw three"
