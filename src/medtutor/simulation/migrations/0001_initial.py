# Virtual-patient cases, assignments, sessions and events.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('accounts', '0001_initial'),
        ('core', '0001_initial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='Case',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('slug', models.SlugField(max_length=120, unique=True)),
                ('title', models.CharField(max_length=300)),
                ('data', models.JSONField()),
                ('version', models.PositiveIntegerField(default=1)),
                ('source', models.CharField(blank=True, max_length=300)),
                ('physiology_scenario', models.CharField(blank=True, max_length=60)),
                ('osce_checklist', models.JSONField(blank=True, default=list)),
                ('osce_time_limit_minutes', models.PositiveIntegerField(blank=True, null=True)),
                ('is_active', models.BooleanField(default=True)),
                ('created_at', models.DateTimeField()),
                ('updated_at', models.DateTimeField()),
                ('author', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['title', 'id'],
            },
        ),
        migrations.CreateModel(
            name='Session',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('case_version', models.PositiveIntegerField()),
                ('case_data', models.JSONField()),
                ('seed', models.PositiveIntegerField()),
                ('sim_minute', models.PositiveIntegerField(default=0)),
                ('state', models.CharField(choices=[('active', 'In progress'), ('submitted', 'Submitted'), ('timed_out', 'Time limit reached')], default='active', max_length=12)),
                ('osce_mode', models.BooleanField(default=False)),
                ('time_limit_minutes', models.PositiveIntegerField(blank=True, null=True)),
                ('started_at', models.DateTimeField()),
                ('ended_at', models.DateTimeField(blank=True, null=True)),
                ('debrief', models.JSONField(blank=True, null=True)),
                ('osce_marks', models.JSONField(blank=True, default=dict)),
                ('score', models.FloatField(blank=True, null=True)),
                ('case', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='sessions', to='simulation.case')),
                ('decision', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='core.auditrecord')),
                ('student', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='vp_sessions', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['-started_at', '-id'],
            },
        ),
        migrations.CreateModel(
            name='SessionEvent',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('seq', models.PositiveIntegerField()),
                ('kind', models.CharField(choices=[('question', 'Question'), ('exam', 'Examination'), ('test', 'Test ordered'), ('intervention', 'Intervention'), ('advance', 'Time advanced'), ('diagnosis', 'Diagnosis submitted'), ('note', 'Note')], max_length=16)),
                ('minute', models.PositiveIntegerField()),
                ('detail', models.TextField()),
                ('answer', models.TextField(blank=True)),
                ('data', models.JSONField(blank=True, default=dict)),
                ('client_token', models.CharField(blank=True, max_length=64)),
                ('created_at', models.DateTimeField()),
                ('session', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='events', to='simulation.session')),
            ],
            options={
                'ordering': ['seq'],
            },
        ),
        migrations.CreateModel(
            name='CaseAssignment',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('osce_mode', models.BooleanField(default=False)),
                ('created_at', models.DateTimeField()),
                ('assigned_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('case', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='assignments', to='simulation.case')),
                ('cohort', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='vp_assignments', to='accounts.cohort')),
            ],
            options={
                'ordering': ['-created_at', '-id'],
                'constraints': [models.UniqueConstraint(fields=('case', 'cohort'), name='vp_assignment_unique')],
            },
        ),
        migrations.AddIndex(
            model_name='session',
            index=models.Index(fields=['student', 'state'], name='vp_session_student_state'),
        ),
        migrations.AddConstraint(
            model_name='sessionevent',
            constraint=models.UniqueConstraint(fields=('session', 'seq'), name='vp_event_seq_unique'),
        ),
        migrations.AddConstraint(
            model_name='sessionevent',
            constraint=models.UniqueConstraint(condition=models.Q(('client_token', ''), _negated=True), fields=('session', 'client_token'), name='vp_event_token_unique'),
        ),
    ]
