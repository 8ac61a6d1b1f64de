"""``minshi posters --township CODE --out DIR`` from the shell."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main

from .decode import pdf_pages, png, qr_texts

BASE = "https://minshi.example.org"


@pytest.fixture(autouse=True)
def shell(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A clean environment in an empty folder (no .env of the developer's)."""
    monkeypatch.chdir(tmp_path)
    for name in ("MINSHI_PUBLIC_URL", "MINSHI_CENTERS_FILE"):
        monkeypatch.delenv(name, raising=False)


def test_writes_a_png_and_a_pdf_per_place_and_the_townships_pdf(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MINSHI_PUBLIC_URL", BASE + "/")
    out = tmp_path / "posters"
    assert main(["posters", "--township", "620702103", "--out", str(out)]) == 0
    names = sorted(p.name for p in out.iterdir())
    places = ["620702103-沙井镇综治中心", "620702103203-寺儿沟村", "620702103223-东沟村"]
    expected = [f"{p}.{kind}" for p in places for kind in ("pdf", "png")]
    assert names == sorted([*expected, "620702103-沙井镇-全部海报.pdf"])
    for place in places:
        code = place.split("-")[0]
        link = f"{BASE}/chat?loc={code}"
        assert qr_texts(png((out / f"{place}.png").read_bytes())) == [link]
        [page] = pdf_pages((out / f"{place}.pdf").read_bytes())
        assert page.qr == [link]
    combined = pdf_pages((out / "620702103-沙井镇-全部海报.pdf").read_bytes())
    assert [p.qr for p in combined] == [[f"{BASE}/chat?loc={p.split('-')[0]}"] for p in places]
    printed = capsys.readouterr()
    assert "张掖市甘州区沙井镇：3 张海报" in printed.out and printed.err == ""


def test_an_unknown_code_is_refused_with_the_codes_meant(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MINSHI_PUBLIC_URL", BASE)
    assert main(["posters", "--township", "620702999", "--out", str(tmp_path / "x")]) == 1
    err = capsys.readouterr().err
    assert "没有乡镇代码 '620702999'" in err and "620702103 张掖市甘州区沙井镇" in err
    assert "Traceback" not in err and not (tmp_path / "x").exists()


def test_without_a_public_address_it_says_what_to_set(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["posters", "--township", "620702103", "--out", str(tmp_path / "x")]) == 1
    assert "请先设置 MINSHI_PUBLIC_URL" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_a_local_address_works_but_warns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MINSHI_PUBLIC_URL", "http://127.0.0.1:8080")
    assert main(["posters", "--township", "620702107", "--out", str(tmp_path / "x")]) == 0
    assert "居民的手机扫码打不开" in capsys.readouterr().err
    assert (tmp_path / "x" / "620702107-党寨镇-全部海报.pdf").is_file()
