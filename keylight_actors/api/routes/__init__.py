"""The HTTP routes: parse and authenticate, build a command, call a use case, answer."""
