"""Writing continues the reading turn (``rag.write``)."""

from __future__ import annotations

import pytest

from rag.write import write_messages

pytestmark = pytest.mark.fast


def test_the_writing_continues_the_reading_turn_with_markers_only_for_chosen_ids():
    from llama_index.core.base.llms.types import ChatMessage, MessageRole

    read_turn = [
        ChatMessage(role=MessageRole.USER, content="q"),
        ChatMessage(role=MessageRole.ASSISTANT, content="Evidence:"),
    ]
    assert write_messages(read_turn, ["B", "D"])[-1].content == "Evidence: B, D\nAnswer:"
