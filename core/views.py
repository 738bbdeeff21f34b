"""View helpers every app shares."""

from django.http import Http404


def get_by_id_or_404(queryset, value):
    """The row of the queryset whose id is `value` (a form or query parameter); 404 when
    there is none or `value` is not an id at all ("abc", "", an enormous number)."""
    text = str(value or "")
    if not text.isascii() or not text.isdigit() or int(text) > 2**63 - 1:
        raise Http404("No such object")
    try:
        return queryset.get(pk=int(text))
    except queryset.model.DoesNotExist:
        raise Http404("No such object") from None
