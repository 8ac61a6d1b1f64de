"""Crashes, outages, full disks and hostile input: the fixtures of the dialog tests
(the FAQ and centers, loaded once) are shared here."""

from __future__ import annotations

from tests.dialogs.conftest import centers, faq_service

__all__ = ["centers", "faq_service"]
