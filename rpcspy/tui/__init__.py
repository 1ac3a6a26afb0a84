"""The rpcspy terminal UI (Textual). Import ``rpcspy.tui.app`` for the app itself."""
