"""The REST API of sessions: serializers, viewsets, filters and the seq cursor.

The top of the app: imports the core (selectors, services) and `hooks` (config, tokens).
"""
