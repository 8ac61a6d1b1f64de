"""Drawing a poster: one A4 layout, painted as PNG (Pillow) and as PDF (reportlab).

``layout`` places text, boxes and the QR code in millimetres, measuring
text with the same CJK font both painters use, so the PNG and the PDF are
the same poster. The PDF keeps text as text (searchable, sharp at any
size); the PNG is 200 dpi, enough to print and to scan. The font comes from
Debian's ``fonts-wqy-zenhei`` (TrueType outlines, which reportlab embeds).
"""

from __future__ import annotations

import functools
import io
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import segno
from PIL import Image, ImageDraw, ImageFont
from reportlab.lib.colors import HexColor
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

from . import Poster, PosterError

__all__ = [
    "FONT_CANDIDATES",
    "FontMissing",
    "find_font",
    "layout",
    "render_pdf",
    "render_png",
]

# TrueType-outline CJK fonts from Debian (Noto CJK is CFF, which reportlab cannot embed).
FONT_CANDIDATES: tuple[Path, ...] = (
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
)
FONT_PACKAGE = "fonts-wqy-zenhei"

PAGE_W, PAGE_H = 210.0, 297.0  # A4, mm
MARGIN = 14.0
MM_PER_PT = 25.4 / 72
PNG_DPI = 200

GREEN, LIGHT_GREEN = "#1f7a4d", "#eef6f1"
INK, GREY, RED, WHITE = "#222222", "#555555", "#c62828", "#ffffff"

STEPS = (
    ("① 扫码", "用微信或手机相机扫上面的二维码"),
    ("② 说事", "打字、按住说话或拍照，把事说清楚"),
    ("③ 调解员联系您", "{hours} 小时内回复，进度在「我的事项」里看"),
)


class FontMissing(PosterError):
    pass


def find_font(candidates: Iterable[Path] = FONT_CANDIDATES) -> Path:
    """The CJK font file; a clear error naming the Debian package when none is installed."""
    tried = list(candidates)
    for path in tried:
        if path.is_file():
            return path
    msg = (
        f"找不到海报用的中文字体（{', '.join(str(p) for p in tried)}）。"
        f"请先安装：sudo apt-get install {FONT_PACKAGE}"
    )
    raise FontMissing(msg)


# -- layout ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Text:
    x: float  # left edge, mm
    y: float  # baseline, mm from the top
    size: float  # pt
    text: str
    color: str = INK
    bold: bool = False


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    w: float
    h: float
    fill: str


@dataclass(frozen=True)
class QrCode:
    x: float
    y: float
    size: float
    modules: tuple[tuple[bool, ...], ...]  # with the quiet zone


Item = Text | Box | QrCode
Measure = Callable[[str, float], float]  # text, pt → width in mm


class _Page:
    """Collects items, and places text centred, right-aligned or shrunk to fit."""

    def __init__(self, measure: Measure) -> None:
        self.measure = measure
        self.items: list[Item] = []

    def fit(self, text: str, size: float, width: float) -> float:
        """The largest size up to ``size`` at which ``text`` fits in ``width``."""
        natural = self.measure(text, size)
        return size if natural <= width else size * width / natural

    def text(
        self, x: float, y: float, size: float, text: str, color: str = INK, bold: bool = False
    ) -> None:
        self.items.append(Text(x, y, size, text, color, bold))

    def centred(
        self, y: float, size: float, text: str, color: str = INK, bold: bool = False
    ) -> None:
        size = self.fit(text, size, PAGE_W - 2 * MARGIN)
        self.text((PAGE_W - self.measure(text, size)) / 2, y, size, text, color, bold)

    def right(
        self, x: float, y: float, size: float, text: str, color: str = INK, bold: bool = False
    ) -> None:
        self.text(x - self.measure(text, size), y, size, text, color, bold)


def _qr_modules(link: str) -> tuple[tuple[bool, ...], ...]:
    code = segno.make(link, error="m", micro=False)
    quiet = 4
    width = len(code.matrix[0]) + 2 * quiet
    blank = (False,) * width
    rows = [
        tuple([False] * quiet + [bool(v) for v in row] + [False] * quiet) for row in code.matrix
    ]
    return (blank,) * quiet + tuple(rows) + (blank,) * quiet


def layout(poster: Poster, measure: Measure) -> list[Item]:
    """Everything on the poster, in mm from the top-left corner."""
    page = _Page(measure)
    inner = PAGE_W - 2 * MARGIN
    # The band: what this is.
    page.items.append(Box(0, 0, PAGE_W, 30, GREEN))
    page.text(MARGIN, 17, 30, "民事直说", color=WHITE, bold=True)
    page.text(MARGIN, 25.5, 13, "村里事、邻里事、家里事，直接说。", color=WHITE)
    page.right(PAGE_W - MARGIN, 17, 16, "群众说事 调解到家", color=WHITE)
    # Where: the place and who takes its cases.
    page.centred(48, 40, poster.title, bold=True)
    if poster.place != poster.title:
        page.centred(57, 14, poster.place, color=GREY)
    phone = poster.center_phone + ("（示例号码）" if poster.demo else "")
    taker = f"由{poster.center}受理 · " if poster.center != poster.title else ""
    page.centred(64.5, 14, f"{taker}电话 {phone}", color=GREY)
    # The code, and the address for those who type it.
    qr_size = 92.0
    page.items.append(QrCode((PAGE_W - qr_size) / 2, 69, qr_size, _qr_modules(poster.link)))
    page.centred(168, 14, "微信扫一扫，或用手机相机扫码", color=GREEN, bold=True)
    page.centred(174.5, 10, poster.link, color=GREY)
    # Three steps, large.
    for n, (step, hint) in enumerate(STEPS):
        y = 190 + n * 12.5
        page.text(MARGIN + 2, y, 26, step, color=GREEN, bold=True)
        hint = hint.format(hours=poster.reply_hours)
        left = MARGIN + 78
        page.text(left, y - 1, page.fit(hint, 14, PAGE_W - MARGIN - left), hint)
    # 便民联系卡: the place's people and the center on the left, hotlines on the right.
    top = 225.0
    page.items.append(Box(MARGIN, top, inner, 58, LIGHT_GREEN))
    page.text(MARGIN + 5, top + 10, 18, "便民联系卡", color=GREEN, bold=True)
    if poster.demo:
        page.text(MARGIN + 42, top + 9.5, 11, "示例号码，张贴前请换成真实号码", color=RED)
    column = inner / 2 - 8
    local = [(f"{c.role} {c.name}", c.phone) for c in poster.contacts]
    local.append((poster.center, poster.center_phone))
    _rows(page, MARGIN + 5, top + 19, column, local)
    hotlines = [(c.name, c.phone) for c in poster.national]
    _rows(page, PAGE_W / 2 + 3, top + 19, column, hotlines)
    page.centred(292, 15, "遇到危险，马上打 110 · 120 · 119", color=RED, bold=True)
    return page.items


def _rows(page: _Page, x: float, y: float, width: float, rows: Sequence[tuple[str, str]]) -> None:
    """Label left, number right-aligned and bold; labels shrink to leave room."""
    size = 12.5 if len(rows) <= 6 else 11.0
    step = 37.0 / max(len(rows) - 1, 5)
    for n, (label, phone) in enumerate(rows):
        baseline = y + n * step
        room = width - page.measure(phone, size) - 3
        page.text(x, baseline, page.fit(label, size, room), label)
        page.right(x + width, baseline, size, phone, bold=True)


# -- painting ---------------------------------------------------------------------------


@functools.lru_cache(maxsize=64)
def _pil_font(path: Path, px: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(path), size=px, index=0)


def _measure(font: Path) -> Measure:
    unit = _pil_font(font, 1000)  # one em = 1000 px: widths scale linearly with size

    def width(text: str, size: float) -> float:
        return unit.getlength(text) / 1000 * size * MM_PER_PT

    return width


def render_png(poster: Poster, font: Path, dpi: int = PNG_DPI) -> bytes:
    """The poster as an A4 PNG at ``dpi``."""
    scale = dpi / 25.4
    image = Image.new("RGB", (round(PAGE_W * scale), round(PAGE_H * scale)), WHITE)
    draw = ImageDraw.Draw(image)
    for item in layout(poster, _measure(font)):
        if isinstance(item, Box):
            corners = (item.x * scale, item.y * scale)
            far = ((item.x + item.w) * scale - 1, (item.y + item.h) * scale - 1)
            draw.rectangle((corners, far), fill=item.fill)
        elif isinstance(item, Text):
            px = max(1, round(item.size / 72 * dpi))
            draw.text(
                (item.x * scale, item.y * scale),
                item.text,
                font=_pil_font(font, px),
                fill=item.color,
                anchor="ls",
                stroke_width=max(1, round(px * 0.02)) if item.bold else 0,
                stroke_fill=item.color,
            )
        else:
            # Whole pixels per module keep the code crisp for cameras.
            n = len(item.modules)
            module = int(item.size * scale) // n
            left = round(item.x * scale) + (int(item.size * scale) - module * n) // 2
            top = round(item.y * scale) + (int(item.size * scale) - module * n) // 2
            for r, row in enumerate(item.modules):
                for c, dark in enumerate(row):
                    if dark:
                        x0, y0 = left + c * module, top + r * module
                        draw.rectangle((x0, y0, x0 + module - 1, y0 + module - 1), fill=INK)
    out = io.BytesIO()
    image.save(out, "PNG", dpi=(dpi, dpi))
    return out.getvalue()


_registered: dict[Path, str] = {}
_register_lock = threading.Lock()  # renders run in worker threads


def _pdf_font(path: Path) -> str:
    with _register_lock:
        if path not in _registered:
            name = f"MinshiCJK{len(_registered)}"
            pdfmetrics.registerFont(TTFont(name, str(path), subfontIndex=0))
            _registered[path] = name
        return _registered[path]


def render_pdf(posters: Sequence[Poster], font: Path) -> bytes:
    """The posters as an A4 PDF, one page each."""
    name = _pdf_font(font)
    measure = _measure(font)
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=(PAGE_W / MM_PER_PT, PAGE_H / MM_PER_PT), invariant=True)
    pdf.setAuthor("民事直说")
    pdf.setCreator("民事直说")
    pdf.setTitle("、".join(p.title for p in posters[:3]) + ("等" if len(posters) > 3 else ""))
    for poster in posters:
        for item in layout(poster, measure):
            _paint_pdf(pdf, name, item)
        pdf.showPage()
    pdf.save()
    return out.getvalue()


def _pt(mm: float) -> float:
    return mm / MM_PER_PT


def _paint_pdf(pdf: canvas.Canvas, font: str, item: Item) -> None:
    if isinstance(item, Box):
        pdf.setFillColor(HexColor(item.fill))
        pdf.rect(_pt(item.x), _pt(PAGE_H - item.y - item.h), _pt(item.w), _pt(item.h), 0, 1)
    elif isinstance(item, Text):
        color = HexColor(item.color)
        text = pdf.beginText(_pt(item.x), _pt(PAGE_H - item.y))
        text.setFont(font, item.size)
        text.setFillColor(color)
        if item.bold:  # the font has no bold face: stroke the outlines too
            text.setStrokeColor(color)
            text.setTextRenderMode(2)
            pdf.setLineWidth(item.size * 0.03)
        text.textOut(item.text)
        pdf.drawText(text)
    else:
        module = item.size / len(item.modules)
        pdf.setFillColor(HexColor(INK))
        for r, row in enumerate(item.modules):
            c = 0
            while c < len(row):  # one rectangle per run of dark modules
                if not row[c]:
                    c += 1
                    continue
                start = c
                while c < len(row) and row[c]:
                    c += 1
                y = PAGE_H - item.y - (r + 1) * module
                pdf.rect(
                    _pt(item.x + start * module),
                    _pt(y),
                    _pt((c - start) * module),
                    _pt(module),
                    0,
                    1,
                )
