"""A tray host (a desktop panel) for the desktop tests, on DBUS_SESSION_BUS_ADDRESS.

It owns org.kde.StatusNotifierWatcher as KDE's and GNOME's AppIndicator do, takes
the item that registers, and reads its menu (com.canonical.dbusmenu) and icon the
way a panel does. The test drives it with one command per line on stdin and reads
one answer per command on stdout:

  menu           the menu, flattened: "menu" then "<id>\t<depth>\t<enabled>\t<label>"
                 per entry, then "end"
  click LABEL    clicks the first enabled entry labelled LABEL, as a panel does
                 (Event "clicked"): "clicked <id>", or "missing LABEL";
                 "click SUBMENU > LABEL": the entry LABEL in the submenu SUBMENU
  icon           the middle pixel of the icon: "icon <r> <g> <b>"

It prints "ready" once it owns the watcher's name, and "registered <service>" when
the item registers. Nothing waits for long: no item within 30 s, or a D-Bus call
unanswered for 10 s, prints "timeout" and ends the panel (the test then fails, never
hangs).

Usage: python3 fake_tray_host.py
"""

import asyncio
import sys

from dbus_next import Variant
from dbus_next.errors import DBusError
from dbus_next.aio import MessageBus
from dbus_next.service import PropertyAccess, ServiceInterface, dbus_property, method, signal


def say(line):
    print(line, flush=True)


class Watcher(ServiceInterface):
    def __init__(self):
        super().__init__("org.kde.StatusNotifierWatcher")
        self.items = []
        self.registered = asyncio.get_event_loop().create_future()

    @method()
    def RegisterStatusNotifierItem(self, service: "s"):
        self.items.append(service)
        say(f"registered {service}")
        if not self.registered.done():
            self.registered.set_result(service)
        self.StatusNotifierItemRegistered(service)

    @method()
    def RegisterStatusNotifierHost(self, service: "s"):
        pass

    @dbus_property(access=PropertyAccess.READ)
    def RegisteredStatusNotifierItems(self) -> "as":
        return self.items

    @dbus_property(access=PropertyAccess.READ)
    def IsStatusNotifierHostRegistered(self) -> "b":
        return True

    @dbus_property(access=PropertyAccess.READ)
    def ProtocolVersion(self) -> "i":
        return 0

    @signal()
    def StatusNotifierItemRegistered(self, service) -> "s":
        return service


def flatten(node, depth, parent, out):
    """(id, depth, enabled, label, parent's label) of each entry under a GetLayout node."""
    for child in node[2]:
        entry_id, props, _ = child.value
        label = props["label"].value if "label" in props else ""
        enabled = props["enabled"].value if "enabled" in props else True
        kind = props["type"].value if "type" in props else "standard"
        if kind != "separator":
            out.append((entry_id, depth, enabled, label, parent))
        flatten(child.value, depth + 1, label, out)
    return out


async def interface(bus, service, path, name):
    introspection = await bus.introspect(service, path)
    return bus.get_proxy_object(service, path, introspection).get_interface(name)


def soon(call):
    """A D-Bus call that must be answered within 10 s."""
    return asyncio.wait_for(call, 10)


async def read_menu(menu):
    await soon(menu.call_about_to_show(0))
    _, layout = await soon(menu.call_get_layout(0, -1, []))
    return flatten(layout, 0, "", [])


async def click(menu, argument):
    """Click the entry `argument` names; once more if the menu was redrawn (and its
    entries numbered anew) between reading it and the click."""
    parent, _, label = argument.rpartition(" > ")
    for attempt in (1, 2):
        entries = await read_menu(menu)
        chosen = [e for e in entries if e[3] == label and e[2] and parent in ("", e[4])]
        if not chosen:
            return f"missing {argument}"
        try:
            await soon(menu.call_event(chosen[0][0], "clicked", Variant("i", 0), 0))
            return f"clicked {chosen[0][0]}"
        except DBusError:
            if attempt == 2:
                raise
    return f"missing {argument}"


async def main():
    bus = await MessageBus().connect()
    watcher = Watcher()
    bus.export("/StatusNotifierWatcher", watcher)
    await bus.request_name("org.kde.StatusNotifierWatcher")
    say("ready")
    service = await asyncio.wait_for(watcher.registered, 30)
    menu = await soon(interface(bus, service, "/MenuBar", "com.canonical.dbusmenu"))
    item = await soon(interface(bus, service, "/StatusNotifierItem", "org.kde.StatusNotifierItem"))
    loop = asyncio.get_event_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            return
        command, _, argument = line.rstrip("\n").partition(" ")
        if command == "menu":
            say("menu")
            for entry_id, depth, enabled, label, _ in await read_menu(menu):
                say(f"{entry_id}\t{depth}\t{int(enabled)}\t{label}")
            say("end")
        elif command == "click":
            say(await click(menu, argument))
        elif command == "icon":
            width, height, argb = (await soon(item.get_icon_pixmap()))[0]
            at = ((height // 2) * width + width // 2) * 4
            say(f"icon {argb[at + 1]} {argb[at + 2]} {argb[at + 3]}")
        else:
            say(f"unknown {command}")


try:
    asyncio.run(main())
except asyncio.TimeoutError:
    say("timeout")
    sys.exit(1)
