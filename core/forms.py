"""Form helpers every app's views share."""

from django.core.exceptions import ValidationError


def errors_to_form(form, exc: ValidationError) -> None:
    """A service's refusal on the form: each field's errors next to it, the rest on top."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)
