"""The API's shapes for checklists and their items.

Input serializers check the shape and types of a request; the rules (who may tick, what
a scenario takes) are the services', so that the page, the API and the command line
refuse the same things with the same words. Output serializers read the selectors' views
(`PhaseView`, `ChecklistView`) and never query on their own.
"""

from rest_framework import serializers

from checklists.models import ItemResult

# --- Checklists -------------------------------------------------------------------------


class ChecklistItemSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    description = serializers.CharField()
    kind = serializers.CharField(help_text="check (ticked) or scenario (given a result)")
    required = serializers.BooleanField()
    done = serializers.BooleanField()
    result = serializers.CharField(help_text="pass, fail, blocked, na or empty")
    note = serializers.CharField()
    updated_by = serializers.CharField(source="updated_by.username", allow_null=True, default=None)
    updated_at = serializers.DateTimeField(allow_null=True)
    complete = serializers.BooleanField(source="is_complete")
    auto_key = serializers.CharField(
        help_text="What Liftoff does itself that ticks this item: branch, version, notes, "
        "tag, or empty (a person ticks it)."
    )
    ticked_by_liftoff = serializers.BooleanField(
        help_text="Ticked by Liftoff itself when its run did the thing (updated_by is null)."
    )


class ProgressFields(serializers.Serializer):
    """Required and optional items counted apart (`checklists.selectors.Progress`)."""

    required_done = serializers.IntegerField(source="progress.required_done")
    required_total = serializers.IntegerField(source="progress.required_total")
    optional_done = serializers.IntegerField(source="progress.optional_done")
    optional_total = serializers.IntegerField(source="progress.optional_total")


class ChecklistSerializer(ProgressFields):
    """A `checklists.selectors.ChecklistView`."""

    id = serializers.IntegerField(source="checklist.id")
    name = serializers.CharField(source="checklist.name")
    description = serializers.CharField(source="checklist.description")
    done = serializers.IntegerField()
    total = serializers.IntegerField()
    percent = serializers.IntegerField()
    items = ChecklistItemSerializer(many=True)


class PhaseSerializer(ProgressFields):
    """A `checklists.selectors.PhaseView`."""

    phase = serializers.CharField(source="phase.value")
    label = serializers.CharField(source="phase.label")
    done = serializers.IntegerField()
    total = serializers.IntegerField()
    percent = serializers.IntegerField()
    checklists = ChecklistSerializer(many=True)


class ChecklistItemUpdateSerializer(serializers.Serializer):
    done = serializers.BooleanField(required=False, help_text="Tick or untick a check.")
    result = serializers.ChoiceField(
        choices=[*ItemResult.values, ""],
        required=False,
        allow_blank=True,
        help_text='A scenario\'s result: pass, fail, blocked, na, or "" to clear.',
    )
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)
