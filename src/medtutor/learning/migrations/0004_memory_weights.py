import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0001_initial"),
        ("learning", "0003_study_plan"),
    ]

    operations = [
        migrations.AddField(model_name="decksettings", name="memory_weights",
                            field=models.JSONField(blank=True, null=True)),
        migrations.AddField(model_name="decksettings", name="memory_fit_at",
                            field=models.DateTimeField(blank=True, null=True)),
        migrations.AddField(model_name="decksettings", name="memory_fit_summary",
                            field=models.JSONField(blank=True, null=True)),
        migrations.AddField(model_name="decksettings", name="memory_fit_decision",
                            field=models.ForeignKey(blank=True, null=True,
                                                    on_delete=django.db.models.deletion.SET_NULL,
                                                    related_name="+", to="core.auditrecord")),
    ]
