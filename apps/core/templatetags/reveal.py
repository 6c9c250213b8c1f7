"""`{% load reveal %}{% reveal obj "field" %}`: a masked personal-data value with a 查看 button
for users holding the `reveal` capability (components/_reveal.html)."""

from __future__ import annotations

from django import template

from apps.core.reveal import reveal_context

register = template.Library()


@register.inclusion_tag("components/_reveal.html", takes_context=True)
def reveal(context, obj, field: str):
    request = context.get("request")
    user = getattr(request, "user", None) or context.get("user")
    return reveal_context(user, obj, field)
