"""Use cases: one function per use case, ``(command, unit of work) -> typed result``.

A use case loads the entity from its unit of work, applies the domain's rule, records what
must be written beside it (events, audit entries, rows), and returns a typed result. It
imports ``domain/`` and the unit-of-work interface (``unit_of_work``) only: the entity
host provides the unit of work in production (actors/entity_host.py), an in-memory one in
tests (tests/services).
"""
