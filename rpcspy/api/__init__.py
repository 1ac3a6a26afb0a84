"""Know a server's API: one description (``model``), made by asking the server (``introspect``)
or by reading traffic (``learn``), and used to check calls (``check``), compare two versions
(``diff``) and write a typed client (``stub``).

A layer beside ``rpcspy.filter``: it imports only ``rpcspy.xmlrpc`` and ``rpcspy.capture`` (and
the leaf ``rpcspy.client``), so the TUI, lint and the commands can all use it. Introspection is
sans-IO: it is given a function that sends one call, and the command supplies it.
"""
