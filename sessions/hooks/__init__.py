"""What attached Claude Codes talk to: hook intake, the lean ASGI route and the DRF view,
hook tokens, the hook-config blocks and the hook client (a standalone console script).

Imports the core (models, ingest). The core imports only `hooks.tokens`, a leaf.
"""
