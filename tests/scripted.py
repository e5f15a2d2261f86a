"""The fast layer's made-up material: a flood story as stored sentences, for the scripted-LLM tests.

Made up here (not the seeds), so the tests that read it test kutip, not a corpus.
"""

from __future__ import annotations

from datetime import date

from rag.index import StoredSentence


def sentence(
    article: str, index: int, text: str, published: date | None = None, outlet: str | None = "Warta"
) -> StoredSentence:
    """A stored sentence as the index returns it, titled after its article."""
    return StoredSentence(
        id=f"{article}:{index}",
        article_id=article,
        index=index,
        text=text,
        title=f"Judul {article}",
        outlet=outlet,
        published=published,
    )


FLOOD = [
    sentence("banjir", 0, "Banjir merendam 1.200 rumah di tiga kecamatan pada Senin.", date(2023, 2, 6)),
    sentence("banjir", 1, "Wali kota Rina Hapsari menutup 45 sekolah selama dua hari.", date(2023, 2, 6)),
    sentence("banjir2", 4, "Hingga Jumat, jumlah rumah yang terendam naik menjadi 3.400 rumah.", date(2023, 2, 10)),
]
