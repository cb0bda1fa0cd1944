"""Settings from environment variables. Every default runs the embedded product (SQLite, queue in SQLite)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PRESALE_ERP_", extra="ignore")

    data_dir: Path = Field(default=Path("data"), description="Folder for the SQLite database and queue files.")
    database_url: str | None = Field(
        default=None,
        validation_alias="DATABASE_URL",
        description="SQLAlchemy URL; default sqlite:///<data_dir>/presale_erp.db. "
        "PostgreSQL: postgresql+psycopg://user@host:5432/db",
    )
    queue_url: str | None = Field(
        default=None,
        description="Task-queue broker: empty for the embedded SQLite queue in <data_dir>/queue.db, "
        "or redis://host:6379/0 for production.",
    )
    queue_name: str = Field(default="presale-erp", description="Queue name (several products can share a Redis).")
    secret_key: str | None = Field(
        default=None,
        description="Master key for PII encryption (url-safe base64 of 32 bytes); default: generated once "
        "into <data_dir>/secret.key.",
    )
    carrier_url: str | None = Field(
        default=None, description="Kdniao-style waybill API base URL (the demo points it at its carrier simulator)."
    )
    carrier_id: str = Field(default="", description="Carrier account id (EBusinessID).")
    carrier_key: str = Field(default="", description="Carrier API key (AppKey) used to sign requests.")
    tracking_url: str | None = Field(
        default=None,
        description="Kuaidi100-style tracking API base URL (https://poll.kuaidi100.com); empty: traces are pulled "
        "through the Kdniao account above.",
    )
    kuaidi100_customer: str = Field(default="", description="Kuaidi100 customer (授权码).")
    kuaidi100_key: str = Field(default="", description="Kuaidi100 key (授权key) used to sign queries.")
    kuaidi100_salt: str = Field(
        default="", description="Salt Kuaidi100 signs its trace pushes with; empty: pushes from Kuaidi100 are refused."
    )
    kuaidi100_callback_url: str = Field(
        default="",
        description="Public address of /api/v1/tracking/push/kuaidi100; with the salt set, parcels on their way are "
        "subscribed so Kuaidi100 pushes their traces (polling goes on either way).",
    )
    reservation_lanes: int = Field(
        default=0,
        ge=0,
        le=8,
        description="Connections the reservation desk writes flash-sale batches ahead on (PostgreSQL), deciding the "
        "next batch while the last is written. 0: the desk decides and writes each batch in turn, the faster way "
        "when the API and the database share a machine's few cores (measured); with a database on its own "
        "many-core server, try 2 and measure (bench/hot_sku.py --lanes 2).",
    )
    host: str = "127.0.0.1"
    port: int = 8000
    token_ttl_minutes: int = Field(default=12 * 60, description="How long a login token stays valid.")

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            url = self.database_url
            # Accept the URL forms people paste from other tools, and always use psycopg 3.
            for prefix in ("postgres://", "postgresql://"):
                if url.startswith(prefix):
                    return "postgresql+psycopg://" + url[len(prefix) :]
            return url
        return f"sqlite:///{self.data_dir.resolve() / 'presale_erp.db'}"

    @property
    def queue_file(self) -> Path:
        return self.data_dir.resolve() / "queue.db"


@lru_cache
def get_settings() -> Settings:
    settings = Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return settings
