"""A platform access token shared by every instance of a deployment: one instance
at a time may fetch the next one (compare-and-set), all read the stored one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from .conftest import Reopen

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
NAME = "wechat-access-token:wx0001"


async def test_one_instance_at_a_time_refreshes_and_every_instance_reads_it(
    stores: Reopen,
) -> None:
    first, second = await stores(), await stores()
    assert await first.shared_token(NAME) is None
    until = NOW + timedelta(seconds=60)
    assert await first.claim_token_refresh(NAME, NOW, until, seen=None)
    # the first is fetching
    assert not await second.claim_token_refresh(NAME, NOW, until, seen=None)
    expires = NOW + timedelta(hours=2)
    await first.store_token(NAME, "TOKEN-1", expires)
    assert await second.shared_token(NAME) == ("TOKEN-1", expires)
    assert await (await stores()).shared_token(NAME) == ("TOKEN-1", expires)  # kept

    # Storing ends the claim; so does releasing it after a failed fetch.
    assert await second.claim_token_refresh(NAME, NOW, until, seen="TOKEN-1")
    await second.release_token_refresh(NAME)
    assert await first.claim_token_refresh(NAME, NOW, until, seen="TOKEN-1")
    assert await first.shared_token(NAME) == ("TOKEN-1", expires)  # still the last good one


async def test_no_claim_after_another_instance_stored_a_newer_token(stores: Reopen) -> None:
    """An instance that read the old token, then found the claim free because another
    had just stored the next one, must take that one, not fetch yet another (WeChat
    keeps only the newest valid)."""
    first, second = await stores(), await stores()
    until = NOW + timedelta(seconds=60)
    assert await first.claim_token_refresh(NAME, NOW, until, seen=None)
    await first.store_token(NAME, "TOKEN-1", NOW + timedelta(hours=2))
    assert not await second.claim_token_refresh(NAME, NOW, until, seen=None)
    assert await first.claim_token_refresh(NAME, NOW, until, seen="TOKEN-1")
    await first.store_token(NAME, "TOKEN-2", NOW + timedelta(hours=2))
    assert not await second.claim_token_refresh(NAME, NOW, until, seen="TOKEN-1")
    assert await second.claim_token_refresh(NAME, NOW, until, seen="TOKEN-2")


async def test_a_claim_whose_instance_died_ends_by_itself(stores: Reopen) -> None:
    first, second = await stores(), await stores()
    assert await first.claim_token_refresh(NAME, NOW, NOW + timedelta(seconds=60), seen=None)
    later = NOW + timedelta(seconds=30)
    claim = later + timedelta(seconds=60)
    assert not await second.claim_token_refresh(NAME, later, claim, seen=None)
    later = NOW + timedelta(seconds=61)
    assert await second.claim_token_refresh(NAME, later, later + timedelta(seconds=60), seen=None)


async def test_tokens_and_the_service_secrets_do_not_mix(stores: Reopen) -> None:
    store = await stores()
    assert await store.service_secret("token-key", "k1", NOW) == "k1"
    assert await store.shared_token("token-key") is None
    assert await store.claim_token_refresh(NAME, NOW, NOW + timedelta(seconds=60), seen=None)
    await store.store_token(NAME, "TOKEN-1", NOW + timedelta(hours=2))
    assert await store.service_secret("token-key", "k2", NOW) == "k1"
