# Attempt.paused_until: the open rest break's end, kept on the attempt so an autosave needs no break query.
# Written by hand.
from django.db import migrations, models


def fill_from_open_breaks(apps, schema_editor):
    from datetime import timedelta

    AttemptBreak = apps.get_model("assessment", "AttemptBreak")
    Attempt = apps.get_model("assessment", "Attempt")
    for row in AttemptBreak.objects.filter(ended_at__isnull=True):
        Attempt.objects.filter(pk=row.attempt_id).update(
            paused_until=row.started_at + timedelta(seconds=row.granted_seconds))


class Migration(migrations.Migration):
    dependencies = [("assessment", "0004_exam_breaks")]

    operations = [
        migrations.AddField("attempt", "paused_until", models.DateTimeField(blank=True, null=True)),
        migrations.RunPython(fill_from_open_breaks, migrations.RunPython.noop),
    ]
