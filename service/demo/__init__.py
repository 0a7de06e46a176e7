"""``spillway serve --demo``: the embedded demo day played on one machine (``core``),
its live status screen (``status``) and its clock and power mapping (``settings``).

The demo plans the day once, scales the domain plan to CPU watts and hands it to
the coordinator (``Plans.adopt``); it never touches a protobuf message.
"""
