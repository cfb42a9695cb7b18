"""Messages in French, Arabic and English from a notification request (Jinja2 + Babel)."""

from services.notifier.rendering.renderer import (
    LANGUAGES,
    TEMPLATES,
    RenderedMessage,
    Renderer,
)

__all__ = ["LANGUAGES", "TEMPLATES", "RenderedMessage", "Renderer"]
