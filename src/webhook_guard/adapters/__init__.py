"""Framework adapters. Each module imports its framework; import only the one you use:

- :mod:`webhook_guard.adapters.asgi`: ``GuardMiddleware`` (Starlette, FastAPI, any ASGI app)
- :mod:`webhook_guard.adapters.flask`: ``WebhookGuard`` extension
- :mod:`webhook_guard.adapters.django`: ``WebhookGuardMiddleware``
"""
