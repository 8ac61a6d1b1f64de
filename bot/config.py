"""Settings: environment, then .env, then defaults — read once at start-up."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from handoff import DeadlinePolicy, Level

__all__ = ["Settings"]


class Settings(BaseSettings):
    """Every setting of the service; see .env.example for the list with comments."""

    model_config = SettingsConfigDict(
        env_prefix="MINSHI_",
        env_file=".env",
        env_file_encoding="utf-8",
        env_ignore_empty=True,
        extra="ignore",
    )

    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    db: Path = Path("data/minshi.db")
    attachments_dir: Path = Path("data/attachments")  # photos residents send
    db_synchronous: str = Field("FULL", pattern="^(FULL|NORMAL|EXTRA)$")
    faq_dir: Path | None = None  # None: the FAQ shipped with the service
    faq_reload_seconds: float = Field(2.0, gt=0)
    centers_file: Path | None = None  # None: the demo centers shipped with the service
    texts_file: Path | None = None  # None: the shipped bot texts
    log_level: str = "INFO"
    # An unfinished report untouched this long is put aside; the resident is asked on return.
    conversation_expiry_hours: float = Field(12.0, gt=0)
    # 四级七天: hours a level has before a case escalates; also the reply time promised.
    deadline_village_hours: int = Field(24, gt=0)
    deadline_township_hours: int = Field(48, gt=0)
    deadline_county_hours: int = Field(48, gt=0)
    deadline_city_hours: int = Field(48, gt=0)

    def deadline_policy(self) -> DeadlinePolicy:
        return DeadlinePolicy(
            {
                Level.VILLAGE: self.deadline_village_hours,
                Level.TOWNSHIP: self.deadline_township_hours,
                Level.COUNTY: self.deadline_county_hours,
                Level.CITY: self.deadline_city_hours,
            }
        )
