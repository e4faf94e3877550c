from django import forms


class TokenCreateForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What the token is for, e.g. “GitLab CI”.")
    project = forms.ModelChoiceField(
        queryset=None,
        required=False,
        empty_label="Me (a personal token)",
        help_text="A project token can only post results for that project.",
    )

    def __init__(self, *args, projects=None, **kwargs):
        super().__init__(*args, **kwargs)
        if projects is None:
            del self.fields["project"]
        else:
            self.fields["project"].queryset = projects
