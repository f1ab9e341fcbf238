# Pre-aggregated answer statistics (issue 8, analytics 2). Written by hand: AggregateState,
# LearnerCompetencyTotal, LearnerWeekTotal, LearnerItemMonth, ItemMonthStats, CompetencyMonthStats.
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def _id():
    return ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID"))


def _learner():
    return ("learner", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="+",
                                         to=settings.AUTH_USER_MODEL))


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0001_early_warning"),
        ("content", "0003_short_answer"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="AggregateState",
            fields=[
                ("name", models.CharField(max_length=40, primary_key=True, serialize=False)),
                ("last_response_id", models.BigIntegerField(default=0)),
                ("pending_gaps", models.JSONField(blank=True, default=list)),
                ("excluded_user_ids", models.JSONField(blank=True, default=list)),
                ("dirty_months", models.JSONField(blank=True, default=list)),
                ("signature", models.CharField(blank=True, max_length=64)),
                ("refreshed_at", models.DateTimeField(blank=True, null=True)),
                ("item_stats_at", models.DateTimeField(blank=True, null=True)),
                ("answers_folded", models.BigIntegerField(default=0)),
            ],
        ),
        migrations.CreateModel(
            name="LearnerCompetencyTotal",
            fields=[
                _id(),
                ("answers", models.PositiveIntegerField(default=0)),
                ("correct", models.PositiveIntegerField(default=0)),
                ("seconds", models.BigIntegerField(default=0)),
                ("competency", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE,
                                                 related_name="+", to="content.competency")),
                ("discipline", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE,
                                                 related_name="+", to="content.discipline")),
                _learner(),
            ],
            options={"indexes": [models.Index(fields=["learner", "competency"], name="agg_competency_learner")]},
        ),
        migrations.CreateModel(
            name="LearnerWeekTotal",
            fields=[
                _id(),
                ("week", models.DateField()),
                ("whole", models.BooleanField(default=False)),
                ("answers", models.PositiveIntegerField(default=0)),
                ("correct", models.PositiveIntegerField(default=0)),
                ("seconds", models.BigIntegerField(default=0)),
                ("day_mask", models.PositiveSmallIntegerField(default=0)),
                ("active_days", models.PositiveSmallIntegerField(default=0)),
                _learner(),
                ("root", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE,
                                           related_name="+", to="content.competency")),
            ],
            options={"indexes": [models.Index(fields=["learner", "week"], name="agg_week_learner"),
                                 models.Index(fields=["whole", "week"], name="agg_week_whole")]},
        ),
        migrations.CreateModel(
            name="LearnerItemMonth",
            fields=[
                _id(),
                ("month", models.DateField()),
                ("answers", models.PositiveIntegerField(default=0)),
                ("correct", models.PositiveIntegerField(default=0)),
                ("item_version", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="+",
                                                   to="content.itemversion")),
                _learner(),
            ],
            options={"indexes": [models.Index(fields=["month", "item_version"], name="agg_item_month"),
                                 models.Index(fields=["learner", "month"], name="agg_item_month_learner")]},
        ),
        migrations.CreateModel(
            name="ItemMonthStats",
            fields=[
                _id(),
                ("month", models.DateField()),
                ("students", models.PositiveIntegerField()),
                ("answers", models.PositiveIntegerField()),
                ("correct", models.PositiveIntegerField()),
                ("facility", models.FloatField(blank=True, null=True)),
                ("point_biserial", models.FloatField(blank=True, null=True)),
                ("upper_lower", models.FloatField(blank=True, null=True)),
                ("discriminating_students", models.PositiveIntegerField(default=0)),
                ("item_version", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="+",
                                                   to="content.itemversion")),
            ],
            options={"indexes": [models.Index(fields=["month", "item_version"], name="agg_item_stats_month")]},
        ),
        migrations.CreateModel(
            name="CompetencyMonthStats",
            fields=[
                _id(),
                ("month", models.DateField()),
                ("students", models.PositiveIntegerField()),
                ("answers", models.PositiveIntegerField()),
                ("correct", models.PositiveIntegerField()),
                ("items", models.PositiveIntegerField()),
                ("facility", models.FloatField(blank=True, null=True)),
                ("mean_point_biserial", models.FloatField(blank=True, null=True)),
                ("mean_upper_lower", models.FloatField(blank=True, null=True)),
                ("competency", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="+",
                                                 to="content.competency")),
            ],
            options={"indexes": [models.Index(fields=["month", "competency"], name="agg_competency_month")]},
        ),
    ]
