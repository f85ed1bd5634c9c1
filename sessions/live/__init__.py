"""Live views of a session: publish after commit and follow (catch-up, then pushes), the
WebSocket consumer, the SSE stream and polling.

`live.feed` (publish and follow) is a leaf the core imports (models only); the transports
import the core's selectors and `live.feed`, never services.
"""
