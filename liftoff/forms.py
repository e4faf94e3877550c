from django import forms

from liftoff.models import ApiToken


class TokenCreateForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What the token is for, e.g. “GitLab CI”.")
    project = forms.ModelChoiceField(
        queryset=None,
        required=False,
        empty_label="Me (a personal token)",
        help_text="A project token can only post results for that project.",
    )

    def __init__(self, *args, with_projects: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if not with_projects:
            del self.fields["project"]
        else:
            # The projects a token may belong to, from the token's own foreign key: the
            # project model lives in an app above liftoff, which liftoff does not import.
            project_model = ApiToken._meta.get_field("project").related_model
            self.fields["project"].queryset = project_model.objects.order_by("name")
