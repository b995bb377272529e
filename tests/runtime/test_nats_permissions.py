"""The NATS users and their permissions, against the real nats-server the suite runs (which
uses the production authorization block, services/runtime/nats_permissions.py): a service
publishes and consumes its own and nothing else; the API and the auditor read and cannot write."""

from __future__ import annotations

import nats
import pytest
from nats.js.api import ConsumerConfig

from services.audit.timeline import stream_histories
from services.runtime import sealing
from services.runtime.embedded_nats import EmbeddedNats
from services.runtime.nats_permissions import ADMIN, API, AUDITOR, inbox_prefix, permissions
from services.runtime.provisioning import (
    audit_stream_config,
    consumer_config,
    ensure_consumer,
    ensure_stream,
    provision_all,
    stream_config,
)
from services.runtime.sealing import HouseholdKeys
from services.runtime.settings import Settings
from services.runtime.topology import (
    AUDIT_STREAM,
    KEYS_BUCKET,
    checkpoint_subject,
    durable_name,
    stream_name,
)
from tests.support.nats_connections import DENIED_TIMEOUT, REFUSED, connected

pytestmark = pytest.mark.integration


async def test_hold_publishes_and_consumes_its_own_and_is_refused_the_rest(
    clean_nats: EmbeddedNats,
) -> None:
    settings = Settings(**clean_nats.access(ADMIN))
    clear_stream, hold_stream = stream_name("clear"), stream_name("hold")
    async with (
        connected(clean_nats, ADMIN) as admin,
        connected(clean_nats, "clear") as clear,
        connected(clean_nats, "hold") as hold,
    ):
        # Its own stream it makes itself, and publishes there with an acknowledgement.
        await ensure_stream(clear.js, "clear", settings)
        await ensure_stream(hold.js, "hold", settings)
        ack = await hold.js.publish("chb.hold.case_opened", b"{}", stream=hold_stream)
        assert ack.stream == hold_stream and ack.seq == 1

        # Its own durable consumer on clear's stream: made, fetched from, acked.
        await clear.js.publish("chb.clear.arrest_recorded", b"{}", stream=clear_stream)
        durable = await ensure_consumer(hold.js, "clear", "hold", settings)
        assert durable == durable_name("clear", "hold")
        own = await hold.js.pull_subscribe_bind(durable=durable, stream=clear_stream)
        [msg] = await own.fetch(1, timeout=2.0)
        assert msg.reply.startswith(f"$JS.ACK.{clear_stream}.{durable}.")
        await msg.ack_sync()
        info = await admin.js.consumer_info(clear_stream, durable)
        assert info.ack_floor.stream_seq == 1 and info.num_ack_pending == 0

        # Publishing as clear: refused, no acknowledgement, nothing stored.
        with pytest.raises(REFUSED):
            await hold.denied.publish("chb.clear.arrest_recorded", b"{}", stream=clear_stream)
        assert await hold.refused("publish", "chb.clear.arrest_recorded")
        assert (await admin.js.stream_info(clear_stream)).state.messages == 1
        # Nor clear's checkpoints, nor core NATS on another service's subjects.
        await hold.nc.publish(checkpoint_subject("clear"), b"{}")
        await hold.nc.publish("cmd.clear.record_arrest", b"{}")
        assert await hold.refused("publish", checkpoint_subject("clear"))
        assert await hold.refused("publish", "cmd.clear.record_arrest")

        # Another service's consumer: it may not make it...
        build_durable = durable_name("clear", "build")
        with pytest.raises(REFUSED):
            await hold.denied.add_consumer(
                clear_stream, consumer_config("clear", "build", settings)
            )
        assert await hold.refused(
            "publish", f"$JS.API.CONSUMER.CREATE.{clear_stream}.{build_durable}.chb.clear.>"
        )
        with pytest.raises(nats.js.errors.NotFoundError):
            await admin.js.consumer_info(clear_stream, build_durable)
        # ...nor, once build has it, take its messages.
        await ensure_consumer(admin.js, "clear", "build", settings)
        other = await hold.js.pull_subscribe_bind(durable=build_durable, stream=clear_stream)
        with pytest.raises(REFUSED):
            await other.fetch(1, timeout=DENIED_TIMEOUT)
        assert await hold.refused(
            "publish", f"$JS.API.CONSUMER.MSG.NEXT.{clear_stream}.{build_durable}"
        )
        info = await admin.js.consumer_info(clear_stream, build_durable)
        assert info.delivered.stream_seq == 0 and info.num_pending == 1

        # Nor make or change another stream, nor the audit stream.
        with pytest.raises(REFUSED):
            await hold.denied.add_stream(stream_config("build", settings))
        assert await hold.refused("publish", f"$JS.API.STREAM.CREATE.{stream_name('build')}")
        with pytest.raises(REFUSED):
            await hold.denied.update_stream(audit_stream_config(settings))
        assert await hold.refused("publish", f"$JS.API.STREAM.UPDATE.{AUDIT_STREAM}")
        # Nor listen to clear's commands, nor read replies meant for the API.
        await hold.nc.subscribe("cmd.clear.>")
        assert await hold.refused("subscription", "cmd.clear.>")
        await hold.nc.subscribe(f"{inbox_prefix(API)}.>")
        assert await hold.refused("subscription", f"{inbox_prefix(API)}.>")


@pytest.mark.parametrize("user", [API, AUDITOR])
async def test_the_api_and_the_auditor_read_every_stream_and_write_nothing(
    clean_nats: EmbeddedNats, user: str
) -> None:
    settings = Settings(**clean_nats.access(ADMIN))
    clear_stream = stream_name("clear")
    async with connected(clean_nats, ADMIN) as admin, connected(clean_nats, user) as reader:
        await provision_all(admin.js, settings)
        await admin.js.publish("chb.clear.arrest_recorded", b"{}", stream=clear_stream)
        await ensure_consumer(admin.js, "clear", "hold", settings)

        # Reading: stream info and an ephemeral consumer of its own.
        assert (await reader.js.stream_info(clear_stream)).state.messages == 1
        sub = await reader.js.pull_subscribe(
            "chb.clear.>", stream=clear_stream, config=ConsumerConfig(inactive_threshold=30.0)
        )
        [msg] = await sub.fetch(1, timeout=2.0)
        assert msg.subject == "chb.clear.arrest_recorded"
        await sub.unsubscribe()
        histories = await stream_histories(Settings(**clean_nats.access(user)))
        assert set(histories) == {"clear", "hold", "build", "notify"}

        # Writing anything: refused.
        with pytest.raises(REFUSED):
            await reader.denied.publish("chb.clear.arrest_recorded", b"{}", stream=clear_stream)
        assert await reader.refused("publish", "chb.clear.arrest_recorded")
        await reader.nc.publish(checkpoint_subject("hold"), b"{}")
        assert await reader.refused("publish", checkpoint_subject("hold"))
        with pytest.raises(REFUSED):
            await reader.denied.delete_stream(AUDIT_STREAM)
        assert await reader.refused("publish", f"$JS.API.STREAM.DELETE.{AUDIT_STREAM}")
        # Nor take a service's messages from its durable consumer.
        durable = durable_name("clear", "hold")
        stolen = await reader.js.pull_subscribe_bind(durable=durable, stream=clear_stream)
        with pytest.raises(REFUSED):
            await stolen.fetch(1, timeout=DENIED_TIMEOUT)
        next_subject = f"$JS.API.CONSUMER.MSG.NEXT.{clear_stream}.{durable}"
        assert await reader.refused("publish", next_subject)
        assert (await admin.js.consumer_info(clear_stream, durable)).delivered.stream_seq == 0
        assert (await admin.js.stream_info(clear_stream)).state.messages == 1


async def test_only_the_api_writes_the_household_keys_and_only_hold_may_also_read_them(
    clean_nats: EmbeddedNats,
) -> None:
    """The keys that seal personal details: the API makes its bucket and keeps keys there.
    Hold may read a key (it opens an arrest's sealed ages for its rules) but neither write,
    purge nor delete one; clear, build and the auditor can neither read a key nor write one."""
    async with connected(clean_nats, API) as api:
        keys = await HouseholdKeys.open(api.js)
        sealed = await keys.seal("HH-7", "a name")
        assert await keys.opener().text(sealed) == "a name"
        kid = sealing.key_id("HH-7")
        kv_stream = f"KV_{KEYS_BUCKET}"

        async with connected(clean_nats, "hold") as hold:
            readable = await HouseholdKeys.existing(hold.js)
            assert readable is not None
            assert await readable.opener().text(sealed) == "a name"
            with pytest.raises(REFUSED):
                await readable.kv.put(kid, b"forged")
            assert await hold.refused("publish", f"$KV.{KEYS_BUCKET}.{kid}")
            with pytest.raises(REFUSED):
                await readable.erase("HH-7")
            with pytest.raises(REFUSED):
                await hold.denied.purge_stream(kv_stream)
            assert await hold.refused("publish", f"$JS.API.STREAM.PURGE.{kv_stream}")
            with pytest.raises(REFUSED):
                await hold.denied.delete_key_value(KEYS_BUCKET)
            assert await hold.refused("publish", f"$JS.API.STREAM.DELETE.{kv_stream}")
        # The key is as the API left it.
        assert await keys.opener().text(sealed) == "a name"

    for user in (AUDITOR, "clear", "build"):
        async with connected(clean_nats, user) as other:
            with pytest.raises(REFUSED):
                await other.denied.key_value(KEYS_BUCKET)
            assert await other.refused("publish", f"$JS.API.STREAM.INFO.{kv_stream}")
            with pytest.raises(REFUSED):
                await other.denied.get_msg(kv_stream, 1)
            assert await other.refused("publish", f"$JS.API.STREAM.MSG.GET.{kv_stream}")
            with pytest.raises(REFUSED):
                await other.denied.get_msg(
                    kv_stream, subject=f"$KV.{KEYS_BUCKET}.{kid}", direct=True
                )
            await other.nc.publish(f"$KV.{KEYS_BUCKET}.forged", b"key")
            assert await other.refused("publish", f"$KV.{KEYS_BUCKET}.forged")


def test_only_the_admin_is_unrestricted_and_no_two_users_share_an_inbox() -> None:
    assert permissions(ADMIN) is None
    users = ("clear", "hold", "build", "notify", API, AUDITOR)
    granted = {user: permissions(user) for user in users}
    for user, perms in granted.items():
        assert perms is not None
        inboxes = [s for s in perms.subscribe if s.startswith("_INBOX")]
        assert inboxes == [f"{inbox_prefix(user)}.>"], user
        assert not any(s in {">", "$JS.API.>", "chb.>"} for s in perms.publish), user


async def test_notify_consumes_hold_and_build_publishes_its_own_and_reads_keys_only(
    clean_nats: EmbeddedNats,
) -> None:
    """The notifier: its own stream and its durable consumers on hold's and build's streams;
    it may open a contact point's sealed target (read a key), and nothing more."""
    settings = Settings(**clean_nats.access(ADMIN))
    hold_stream, notify_stream = stream_name("hold"), stream_name("notify")
    async with (
        connected(clean_nats, ADMIN) as admin,
        connected(clean_nats, "notify") as notify,
        connected(clean_nats, API) as api,
    ):
        await provision_all(admin.js, settings)
        await ensure_stream(notify.js, "notify", settings)
        ack = await notify.js.publish(
            "chb.notify.notification_changed", b"{}", stream=notify_stream
        )
        assert ack.stream == notify_stream
        await admin.js.publish("chb.hold.support_task_opened", b"{}", stream=hold_stream)
        for upstream in ("hold", "build"):
            durable = await ensure_consumer(notify.js, upstream, "notify", settings)
            assert durable == "notify_from_" + upstream
        own = await notify.js.pull_subscribe_bind(durable="notify_from_hold", stream=hold_stream)
        [msg] = await own.fetch(1, timeout=2.0)
        await msg.ack_sync()

        # Not another service's subjects, stream, consumer or commands.
        with pytest.raises(REFUSED):
            await notify.denied.publish("chb.hold.support_task_opened", b"{}", stream=hold_stream)
        assert await notify.refused("publish", "chb.hold.support_task_opened")
        with pytest.raises(REFUSED):
            await notify.denied.add_consumer(
                stream_name("clear"), consumer_config("clear", "notify", settings)
            )
        await notify.nc.publish("cmd.hold.change_task", b"{}")
        assert await notify.refused("publish", "cmd.hold.change_task")
        await notify.nc.subscribe("cmd.hold.>")
        assert await notify.refused("subscription", "cmd.hold.>")

        # A contact point's key: the API makes it; notify may read it, never write it.
        keys = await HouseholdKeys.open(api.js)
        sealed = await keys.seal("contact/c-1", '{"address": "intake@example.nz"}')
        readable = await HouseholdKeys.existing(notify.js)
        assert readable is not None
        assert await readable.opener().text(sealed) == '{"address": "intake@example.nz"}'
        kid = sealing.key_id("contact/c-1")
        with pytest.raises(REFUSED):
            await readable.kv.put(kid, b"forged")
        assert await notify.refused("publish", f"$KV.{KEYS_BUCKET}.{kid}")

        # The API sends notify its commands; the API and the auditor read its stream.
        api_may, auditor_may = permissions(API), permissions(AUDITOR)
        assert api_may is not None and "cmd.notify.*" in api_may.publish
        assert auditor_may is not None
        assert f"$JS.API.STREAM.INFO.{notify_stream}" in auditor_may.publish
