"""Embedded sandbox CRMs: loopback servers that emulate Salesforce and HubSpot.

They are close enough that the real client libraries cannot tell. Used by ``sync-daemon demo`` and the tests.

They are written from the vendors' documentation and share no code with :mod:`connectors`: an emulator
that imported the client side's helpers would repeat its mistakes, and the tests would prove nothing.
"""
