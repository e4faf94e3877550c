from django import forms


class ProjectForm(forms.Form):
    name = forms.CharField(max_length=100)
    slug = forms.SlugField(max_length=50, help_text="Used in URLs and the API, e.g. “pepelugpt”.")
    repo_url = forms.CharField(
        label="Repository URL",
        max_length=500,
        help_text="https://, ssh://, git@host:path or an absolute path. No passwords in it.",
    )
    default_branch = forms.CharField(max_length=200, initial="main")
    version_files = forms.CharField(
        max_length=1000,
        initial="pyproject.toml",
        help_text="Files that hold the version, separated by commas.",
    )
    codename_pool = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One codename per line, e.g. “Digital Oracle”.",
    )
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def clean_version_files(self):
        return [p.strip() for p in self.cleaned_data["version_files"].split(",") if p.strip()]

    def clean_codename_pool(self):
        return [n.strip() for n in self.cleaned_data["codename_pool"].splitlines() if n.strip()]
