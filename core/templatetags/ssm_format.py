"""Formatting filters shared by the pages."""

from django import template
from django.template.defaultfilters import filesizeformat

register = template.Library()


@register.filter
def rate(value):
    """Bytes per second as '1.2 KB/s', or '--' when not measured yet."""
    if value is None:
        return "--"
    return f"{filesizeformat(value)}/s"
