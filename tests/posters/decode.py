"""Reading posters back as a phone and a printer would: the QR code with a real
decoder (zxing-cpp), the PDF with PDFium (pages, their size, text, and the code
on each page rasterised)."""

from __future__ import annotations

import io
from dataclasses import dataclass

import pypdfium2 as pdfium
import zxingcpp
from PIL import Image

A4_POINTS = (595.3, 841.9)


def qr_texts(image: Image.Image) -> list[str]:
    return [found.text for found in zxingcpp.read_barcodes(image)]


def png(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG"
    return image


@dataclass(frozen=True)
class PdfPage:
    size: tuple[float, float]  # points
    text: str
    qr: list[str]


def pdf_pages(data: bytes) -> list[PdfPage]:
    """Every page: its size, its text, and the QR codes read from it at 150 dpi."""
    doc = pdfium.PdfDocument(data)
    try:
        pages = []
        for page in doc:
            text = page.get_textpage().get_text_range().replace("\r\n", "\n")
            image = page.render(scale=150 / 72).to_pil()
            width, height = page.get_size()
            pages.append(PdfPage((round(width, 1), round(height, 1)), text, qr_texts(image)))
        return pages
    finally:
        doc.close()
