from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]

    operations = [
        migrations.CreateModel(
            name="JobRun",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("job", models.CharField(max_length=60)),
                ("slot", models.DateTimeField()),
                ("instance", models.CharField(max_length=120)),
                ("started_at", models.DateTimeField()),
                ("finished_at", models.DateTimeField(blank=True, null=True)),
                ("outcome", models.CharField(choices=[("running", "Running"), ("done", "Done"), ("failed", "Failed")],
                                             default="running", max_length=10)),
                ("detail", models.CharField(blank=True, max_length=500)),
            ],
            options={
                "indexes": [models.Index(fields=["job", "-slot"], name="core_jobrun_job_5d9a7c_idx")],
                "constraints": [models.UniqueConstraint(fields=("job", "slot"), name="job_run_once_per_slot")],
            },
        ),
    ]
