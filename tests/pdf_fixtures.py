"""PDFs made for the tests and scripts/bench_readers.py (reportlab): a text PDF in one or two
columns, and an image-only PDF (what a scanner produces: no text layer)."""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path

ARTICLE_TITLE = "Banjir Rendam Ribuan Rumah di Kabupaten Bekasi"
ARTICLE = [
    "BEKASI, KABAR PESISIR - Banjir merendam sekitar 4.500 rumah di tujuh kecamatan di Kabupaten Bekasi setelah hujan "
    "deras mengguyur wilayah itu sejak Sabtu malam.",
    "Badan Penanggulangan Bencana Daerah mencatat ketinggian air mencapai 1,5 meter di beberapa permukiman yang "
    "berada di dekat bantaran Sungai Citarum.",
    "Sebanyak 2.300 warga mengungsi ke sekolah dan masjid terdekat, sementara petugas gabungan mengevakuasi warga "
    "lanjut usia dengan perahu karet.",
    "Kepala pelaksana BPBD mengatakan pihaknya menyiapkan dapur umum di 12 titik dan meminta warga tetap waspada "
    "karena hujan diperkirakan masih turun hingga akhir pekan.",
    "Jumlah korban: 2 orang meninggal dunia",
]


def text_pdf(
    path: Path,
    paragraphs: list[str] = ARTICLE,
    title: str = ARTICLE_TITLE,
    *,
    columns: int = 1,
    pages: int = 1,
    created: datetime | None = datetime(2024, 2, 3, 9, 0),
) -> Path:
    """A PDF with a real text layer: the title, then the paragraphs (wrapped by reportlab), in one
    or two columns, repeated over ``pages`` pages, with a page number at the foot of each page."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import BaseDocTemplate, Frame, PageBreak, PageTemplate, Paragraph, Spacer

    styles = getSampleStyleSheet()
    width, height = A4
    margin = 50
    gap = 20
    column_width = (width - 2 * margin - gap * (columns - 1)) / columns
    frames = [
        Frame(margin + i * (column_width + gap), margin, column_width, height - 2 * margin, id=f"c{i}")
        for i in range(columns)
    ]

    def footer(canvas, doc):
        canvas.setFont("Helvetica", 9)
        canvas.drawCentredString(width / 2, 25, str(doc.page))

    doc = BaseDocTemplate(str(path), pagesize=A4, title=title, author="kutip tests", creator="kutip tests")
    doc.addPageTemplates([PageTemplate(id="page", frames=frames, onPage=footer)])
    story: list = []
    for page in range(pages):
        story.append(Paragraph(title, styles["Title"]))
        story += [item for p in paragraphs for item in (Paragraph(p, styles["BodyText"]), Spacer(1, 6))]
        if page < pages - 1:
            story.append(PageBreak())
    doc.build(story)
    if created is not None:  # reportlab stamps "now"; the tests want a fixed creation date
        from pypdf import PdfReader, PdfWriter

        writer = PdfWriter(clone_from=PdfReader(str(path)))
        writer.add_metadata({"/CreationDate": created.strftime("D:%Y%m%d%H%M%S"), "/Title": title})
        writer.write(str(path))
    return path


def image_pdf(path: Path, pages: int = 2) -> Path:
    """A PDF of page images only (a scan): something is printed, nothing can be extracted as text."""
    from PIL import Image, ImageDraw
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path), pagesize=A4)
    for n in range(pages):
        image = Image.new("L", (600, 800), 255)
        draw = ImageDraw.Draw(image)
        for row in range(40, 760, 24):  # lines of "text" as a scanner sees it: pixels
            draw.rectangle([40, row, 560 - (row * 7 + n * 13) % 180, row + 10], fill=30)
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        buffer.seek(0)
        c.drawImage(ImageReader(buffer), 0, 0, *A4)
        c.showPage()
    c.save()
    return path
