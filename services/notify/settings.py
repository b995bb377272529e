"""Notify's own settings (``CHB_SMTP_*``, ``CHB_NOTIFY_*``), read once by its factory."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.notify.delivery import Smtp
from services.notify.policy import Policy


class NotifySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CHB_", extra="ignore")

    # Where e-mail goes: `chb up` runs a local sink on loopback and sets these; production
    # sets its own relay. STARTTLS is used whenever the server offers it.
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=8025, ge=1, le=65535)
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_from: str = "chb-notify@localhost"
    smtp_starttls: bool | None = None
    # The links in notifications point here (the front door as its users reach it).
    notify_link_base: str = "http://127.0.0.1:8080"
    # An offer no contact point of the agency accepted within this long tells the leadership
    # group: the short wait for a task due within notify_urgent_hours, the long one otherwise.
    notify_offer_wait_minutes: float = Field(default=15.0, gt=0)
    notify_offer_wait_long_minutes: float = Field(default=60.0, gt=0)
    notify_urgent_hours: float = Field(default=4.0, gt=0)
    notify_retry_base_seconds: float = Field(default=10.0, gt=0)
    notify_retry_cap_seconds: float = Field(default=3600.0, gt=0)
    notify_retry_hours: float = Field(default=24.0, gt=0)
    notify_per_contact: int = Field(default=4, ge=1, le=100)
    notify_webhook_timeout_seconds: float = Field(default=10.0, gt=0)

    def policy(self) -> Policy:
        return Policy(
            link_base=self.notify_link_base.rstrip("/"),
            offer_wait_urgent=timedelta(minutes=self.notify_offer_wait_minutes),
            offer_wait=timedelta(minutes=self.notify_offer_wait_long_minutes),
            urgent_within=timedelta(hours=self.notify_urgent_hours),
            retry_base_seconds=self.notify_retry_base_seconds,
            retry_cap_seconds=self.notify_retry_cap_seconds,
            retry_window=timedelta(hours=self.notify_retry_hours),
            contact_fail_window=timedelta(hours=self.notify_retry_hours),
        )

    def smtp(self) -> Smtp:
        return Smtp(
            host=self.smtp_host,
            port=self.smtp_port,
            sender=self.smtp_from,
            username=self.smtp_username,
            password=self.smtp_password,
            start_tls=self.smtp_starttls,
        )
