"""Notify's domain: agencies' contact points, each notification's life, offer watches and the
facts a message may say, with named errors and their guards. Nothing here does I/O."""

from __future__ import annotations

from services.notify.domain.contacts import LEADERSHIP, AgencyContacts, Channel, public_contact
from services.notify.domain.errors import (
    ACTIVE,
    CHANNELS,
    DISABLED,
    PURPOSES,
    ContactNotFound,
    ContactRuleBroken,
    check_active,
    check_channel,
    check_purpose,
)
from services.notify.domain.facts import ItemFacts
from services.notify.domain.notification import (
    ATTEMPTING,
    DELIVERED,
    FAILED,
    FINISHED,
    GIVEN_UP,
    QUEUED,
    STATUSES,
    Notification,
    retry_delay,
)
from services.notify.domain.watch import OfferWatch

__all__ = [
    "ACTIVE",
    "ATTEMPTING",
    "CHANNELS",
    "DELIVERED",
    "DISABLED",
    "FAILED",
    "FINISHED",
    "GIVEN_UP",
    "LEADERSHIP",
    "PURPOSES",
    "QUEUED",
    "STATUSES",
    "AgencyContacts",
    "Channel",
    "ContactNotFound",
    "ContactRuleBroken",
    "ItemFacts",
    "Notification",
    "OfferWatch",
    "check_active",
    "check_channel",
    "check_purpose",
    "public_contact",
    "retry_delay",
]
