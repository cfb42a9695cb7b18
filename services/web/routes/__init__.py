"""Routers of a few lines each; `services.web.app` includes them."""
