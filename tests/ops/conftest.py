"""A resident who files a case with a phone number, over the real web chat API."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator

import httpx

from tests.chat import ZHANGYE_VILLAGE, describe, pick_place, start_report
from tests.resident.conftest import Resident
from tests.support import Service

PHONE = "13812345678"
ID_NUMBER = "62070219800101123X"
STORY = f"邻居把车停在我家门口出不了门，我电话{PHONE}，身份证{ID_NUMBER}"


@contextlib.asynccontextmanager
async def web_resident(service: Service) -> AsyncIterator[Resident]:
    async with httpx.AsyncClient(base_url=service.base_url, trust_env=False, timeout=10) as c:
        token = (await c.post("/api/chat/session")).json()["token"]
        yield Resident(c, token)


async def file_case_with_phone(resident: Resident) -> str:
    """Report a neighbour matter with the resident's phone; the case number."""
    await start_report(resident)
    await describe(resident, STORY)
    await pick_place(resident, *ZHANGYE_VILLAGE)
    await resident.say(PHONE)
    await resident.tap("确认提交")
    number = re.search(r"MS\d{6}-\d{4}", resident.text)
    assert number, resident.text
    return number.group(0)
