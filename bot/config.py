"""Settings: environment, then .env, then defaults — read once at start-up."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from handoff import DeadlinePolicy, Level

from .storage import DatabaseUrlError, open_database, sqlite_path

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
    # The one database setting: sqlite:///path (one instance; four slashes for an absolute
    # path) or postgresql://user:password@host:port/name (one or several instances).
    # MINSHI_DB and --db PATH are aliases for sqlite:///PATH.
    database_url: str | None = None
    db_pool_size: int = Field(10, ge=2, le=500)  # PostgreSQL connections per instance
    attachments_dir: Path = Path("data/attachments")  # photos residents send
    db_synchronous: str = Field("FULL", pattern="^(FULL|NORMAL|EXTRA)$")
    faq_dir: Path | None = None  # None: the FAQ shipped with the service
    faq_reload_seconds: float = Field(2.0, gt=0)
    # Match residents' questions in a child process, on another core than the event loop.
    faq_match_process: bool = True
    centers_file: Path | None = None  # None: the demo centers shipped with the service
    texts_file: Path | None = None  # None: the shipped bot texts
    log_level: str = "INFO"
    log_format: str = Field("text", pattern="^(text|json)$")  # json: one object per line
    # /metrics: with a token, only requests with "Authorization: Bearer <token>";
    # without one, only requests from this machine.
    metrics_token: str | None = None
    # /healthz fails when the database's disk has less free space than this.
    health_min_free_mb: int = Field(100, ge=0)
    # Archived cases this many days old lose their phone and ID numbers (None: kept).
    retention_days: float | None = Field(None, gt=0)
    # How long a delivery worker holds the outbox entries it took: after a crash (kill -9),
    # what it was sending goes out again once this has passed.
    outbox_lease_seconds: float = Field(60.0, gt=0)
    # An unfinished report untouched this long is put aside; the resident is asked on return.
    conversation_expiry_hours: float = Field(12.0, gt=0)
    # 四级七天: hours a level has before a case escalates; also the reply time promised.
    deadline_village_hours: int = Field(24, gt=0)
    deadline_township_hours: int = Field(48, gt=0)
    deadline_county_hours: int = Field(48, gt=0)
    deadline_city_hours: int = Field(48, gt=0)
    # Days after a case is resolved: the 回访 question to the resident, then archiving.
    followup_days: float = Field(7.0, gt=0)
    archive_days: float = Field(30.0, gt=0)
    # The address residents and platforms reach this service at (https://…), for webhooks.
    public_url: str | None = None
    # Telegram: a bot token (from @BotFather) switches the channel on.
    telegram_token: str | None = None
    # The Bot API server: the official one, or a self-hosted telegram-bot-api.
    telegram_api_url: str = "https://api.telegram.org"
    # With a secret (1-256 of A-Z a-z 0-9 _ -) and a public address: webhook instead of polling.
    telegram_webhook_secret: str | None = Field(None, pattern=r"^[A-Za-z0-9_-]{1,256}$")
    telegram_webhook_url: str | None = None  # default: public_url + /telegram/webhook
    # Larger photos, recordings and files are refused with a message (the Bot API gives 20 MB).
    telegram_max_file_mb: int = Field(20, gt=0)

    # WeChat Official Account: app id, app secret and the callback token switch it on
    # (callback URL: GET/POST /wechat of this service).
    wechat_app_id: str | None = None
    wechat_app_secret: str | None = None
    wechat_token: str | None = Field(None, pattern=r"^[A-Za-z0-9]{3,32}$")
    # EncodingAESKey (43 characters): compatible and safe (encrypted) mode.
    wechat_aes_key: str | None = Field(None, pattern=r"^[A-Za-z0-9+/]{43}$")
    wechat_api_url: str = "https://api.weixin.qq.com"
    # A callback whose signed timestamp is further than this from now is refused (403).
    wechat_timestamp_window_seconds: float = Field(300.0, gt=0)
    # How long a message waits for the dialog before the passive reply gives up (WeChat
    # allows 5 s); later replies go out as customer-service messages.
    wechat_passive_wait_seconds: float = Field(4.0, gt=0, le=4.5)
    # A template for "you have a new reply" when a message waits outside the 48-hour window.
    wechat_template_reply: str | None = None
    wechat_template_field: str = "thing1"  # the template's field that shows the message start

    @model_validator(mode="after")
    def _one_database(self) -> Settings:
        """MINSHI_DATABASE_URL, MINSHI_DB and --db name one database, or start-up stops."""
        if self.database_url is None:
            return self
        try:
            path = sqlite_path(self.database_url)
            open_database(self.database_url)  # checks the URL; opens nothing
        except DatabaseUrlError as exc:
            raise ValueError(f"MINSHI_DATABASE_URL {exc}") from None
        if "db" in self.model_fields_set and path != self.db:
            msg = (
                f"MINSHI_DATABASE_URL and MINSHI_DB (or --db {self.db}) name different "
                "databases; set only one of them"
            )
            raise ValueError(msg)
        if path is not None:
            self.db = path
        return self

    @property
    def database(self) -> str:
        """The database URL, whichever setting gave it."""
        return self.database_url or f"sqlite:///{self.db}"

    @property
    def wechat_enabled(self) -> bool:
        return bool(self.wechat_app_id and self.wechat_app_secret and self.wechat_token)

    def deadline_policy(self) -> DeadlinePolicy:
        return DeadlinePolicy(
            {
                Level.VILLAGE: self.deadline_village_hours,
                Level.TOWNSHIP: self.deadline_township_hours,
                Level.COUNTY: self.deadline_county_hours,
                Level.CITY: self.deadline_city_hours,
            }
        )
