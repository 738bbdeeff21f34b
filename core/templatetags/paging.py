"""{% page_url n %}: the current page's address with only the page number changed (every
filter and search kept), for the one paging bar every table uses (core/_paging.html)."""

from django import template

register = template.Library()


@register.simple_tag(takes_context=True)
def page_url(context, number) -> str:
    query = context["request"].GET.copy()
    query["page"] = number
    return "?" + query.urlencode()
