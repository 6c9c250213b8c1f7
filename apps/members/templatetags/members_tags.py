from django import template

register = template.Library()


@register.filter
def get(mapping, key):
    """`{{ board|get:key }}`: a dict lookup with a variable key."""
    try:
        return mapping.get(key, "")
    except AttributeError:
        return ""
