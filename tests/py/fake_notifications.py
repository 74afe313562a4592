"""A notification service for the desktop tests, on the bus DBUS_SESSION_BUS_ADDRESS.

It answers Notify like a desktop's service and, CLICK_AFTER seconds after a
notification with a "default" action arrives, behaves as if the person clicked it:
ActivationToken(id, TOKEN) then ActionInvoked(id, "default"), as the freedesktop
notification specification (1.2) orders them. It logs each call to argv[1].

Usage: python3 fake_notifications.py LOG TOKEN CLICK_AFTER
"""

import asyncio
import sys

from dbus_next.aio import MessageBus
from dbus_next.service import ServiceInterface, method, signal


class Notifications(ServiceInterface):
    def __init__(self, log, token, click_after):
        super().__init__("org.freedesktop.Notifications")
        self.log, self.token, self.click_after, self.next_id = log, token, click_after, 0

    def write(self, line):
        with open(self.log, "a", encoding="utf-8") as f:
            f.write(line + "\n")

    @method()
    def Notify(self, app: "s", replaces: "u", icon: "s", summary: "s", body: "s",
               actions: "as", hints: "a{sv}", timeout: "i") -> "u":
        self.next_id += 1
        nid = self.next_id
        self.write(f"notify {nid} {summary} | {body} | {' '.join(actions)}")
        if "default" in actions:
            asyncio.get_event_loop().call_later(self.click_after, self.click, nid)
        return nid

    def click(self, nid):
        self.write(f"click {nid}")
        self.ActivationToken(nid, self.token)
        self.ActionInvoked(nid, "default")

    @method()
    def CloseNotification(self, nid: "u"):
        self.write(f"close {nid}")

    @method()
    def GetCapabilities(self) -> "as":
        return ["actions", "body"]

    @method()
    def GetServerInformation(self) -> "ssss":
        return ["fake", "qoltanba-tests", "1", "1.2"]

    @signal()
    def ActivationToken(self, nid, token) -> "us":
        return [nid, token]

    @signal()
    def ActionInvoked(self, nid, action) -> "us":
        return [nid, action]


async def main():
    log, token, click_after = sys.argv[1], sys.argv[2], float(sys.argv[3])
    bus = await MessageBus().connect()
    bus.export("/org/freedesktop/Notifications", Notifications(log, token, click_after))
    await bus.request_name("org.freedesktop.Notifications")
    with open(log, "a", encoding="utf-8") as f:
        f.write("ready\n")
    await asyncio.Event().wait()


asyncio.run(main())
