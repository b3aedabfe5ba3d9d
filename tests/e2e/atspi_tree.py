#!/usr/bin/python3
"""Prints, as JSON, the accessibility tree of the running application named argv[1], read over
AT-SPI as a screen reader such as Orca reads it: one {role, name} per node, in document order.

Needs Debian's python3-gi and gir1.2-atspi-2.0, and the session bus the application runs on
(scripts/e2e starts one with dbus-run-session; the accessibility bus starts on demand)."""
import json
import sys

import gi

gi.require_version("Atspi", "2.0")
from gi.repository import Atspi  # noqa: E402

# Far deeper than any screen of the app; a guard against a tree that loops.
MAX_DEPTH = 60


def walk(node, depth, out):
    if node is None or depth > MAX_DEPTH:
        return
    try:
        role = node.get_role_name()
        name = node.get_name() or ""
        count = node.get_child_count()
    except gi.repository.GLib.Error:
        return  # the page changed under us: that node is gone
    out.append({"role": role, "name": name.strip()})
    for i in range(count):
        try:
            child = node.get_child_at_index(i)
        except gi.repository.GLib.Error:
            continue
        walk(child, depth + 1, out)


def main():
    wanted = sys.argv[1]
    desktop = Atspi.get_desktop(0)
    apps = [desktop.get_child_at_index(i) for i in range(desktop.get_child_count())]
    apps = [a for a in apps if a is not None and a.get_name() == wanted]
    if not apps:
        names = [desktop.get_child_at_index(i).get_name() for i in range(desktop.get_child_count())]
        sys.exit(f"no application named {wanted!r} on the accessibility bus; there are {names}")
    out = []
    # The newest: a journey's app is the last one started.
    walk(apps[-1], 0, out)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
