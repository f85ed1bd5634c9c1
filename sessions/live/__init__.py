"""Live views of a session: publish after commit and follow (catch-up, then pushes), the
WebSocket consumer, the SSE stream and polling.

`live.feed` (publish and follow) sits below the services, which import it: it imports models
and the tenant context only. The transports import the core's selectors and `live.feed`,
never services.
"""
