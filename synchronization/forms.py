"""Forms of the Synchronization widget."""

from django import forms


class ManualResponseForm(forms.Form):
    """Upload CSC's sync response file."""

    response_file = forms.FileField(label="Response file")

    def clean_response_file(self):
        upload = self.cleaned_data["response_file"]
        if upload.size > 5 * 1024 * 1024:
            raise forms.ValidationError("The response file is larger than 5 MB.")
        return upload
