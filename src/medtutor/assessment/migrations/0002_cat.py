"""Computerized adaptive testing (adaptive mode, calibrations, adaptive attempts) and standard setting."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('assessment', '0001_initial'),
        ('content', '0001_initial'),
        ('core', '0001_initial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name='attempt',
            name='mode',
            field=models.CharField(choices=[('timed', 'Timed (feedback after submission)'), ('tutor', 'Tutor (feedback after each item)'), ('adaptive', 'Adaptive (CAT: one item at a time, no going back)')], max_length=10),
        ),
        migrations.AlterField(
            model_name='exam',
            name='mode',
            field=models.CharField(choices=[('timed', 'Timed (feedback after submission)'), ('tutor', 'Tutor (feedback after each item)'), ('adaptive', 'Adaptive (CAT: one item at a time, no going back)')], default='timed', max_length=10),
        ),
        migrations.CreateModel(
            name='AdaptiveSettings',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('se_target', models.FloatField(default=0.3)),
                ('min_items', models.PositiveSmallIntegerField(default=5)),
                ('max_items', models.PositiveSmallIntegerField(default=30)),
                ('content_balancing', models.BooleanField(default=True)),
                ('exposure', models.CharField(choices=[('randomesque', 'Randomesque (random among the most informative items)'), ('none', 'None (always the most informative item)')], default='randomesque', max_length=12)),
                ('randomesque_k', models.PositiveSmallIntegerField(default=5)),
                ('competency', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='content.competency')),
                ('exam', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='adaptive', to='assessment.exam')),
            ],
        ),
        migrations.CreateModel(
            name='CalibrationRun',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('model', models.CharField(max_length=4)),
                ('model_version', models.CharField(max_length=40)),
                ('n_persons', models.PositiveIntegerField()),
                ('n_responses', models.PositiveIntegerField()),
                ('n_items', models.PositiveIntegerField()),
                ('log_likelihood', models.FloatField()),
                ('iterations', models.PositiveIntegerField()),
                ('converged', models.BooleanField()),
                ('notes', models.JSONField(blank=True, default=list)),
                ('source', models.CharField(blank=True, max_length=200)),
                ('created_at', models.DateTimeField()),
                ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['-created_at', '-id'],
            },
        ),
        migrations.CreateModel(
            name='AdaptiveAttempt',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('bank', models.JSONField(default=dict)),
                ('theta', models.FloatField(default=0.0)),
                ('se', models.FloatField(default=1.0)),
                ('path', models.JSONField(default=list)),
                ('refused', models.JSONField(default=list)),
                ('stop_reason', models.CharField(blank=True, max_length=20)),
                ('attempt', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='adaptive', to='assessment.attempt')),
                ('decision', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='core.auditrecord')),
                ('calibration_run', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='assessment.calibrationrun')),
            ],
        ),
        migrations.CreateModel(
            name='ItemCalibration',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('a', models.FloatField()),
                ('b', models.FloatField()),
                ('c', models.FloatField(default=0.0)),
                ('se_a', models.FloatField()),
                ('se_b', models.FloatField()),
                ('se_c', models.FloatField(blank=True, null=True)),
                ('n_responses', models.PositiveIntegerField()),
                ('p_correct', models.FloatField()),
                ('item', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='calibrations', to='content.item')),
                ('run', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='items', to='assessment.calibrationrun')),
            ],
            options={
                'ordering': ['run', 'item'],
                'constraints': [models.UniqueConstraint(fields=('run', 'item'), name='item_calibration_unique')],
            },
        ),
        migrations.CreateModel(
            name='StandardSetting',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('method', models.CharField(choices=[('angoff', 'Modified Angoff'), ('hofstee', 'Hofstee')], max_length=10)),
                ('inputs', models.JSONField(default=dict)),
                ('result', models.JSONField(default=dict)),
                ('cut_percent', models.FloatField()),
                ('is_applied', models.BooleanField(default=False)),
                ('created_at', models.DateTimeField()),
                ('applied_at', models.DateTimeField(blank=True, null=True)),
                ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('exam', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='standard_settings', to='assessment.exam')),
            ],
            options={
                'ordering': ['-created_at', '-id'],
                'constraints': [models.UniqueConstraint(condition=models.Q(('is_applied', True)), fields=('exam',), name='standard_setting_one_applied')],
            },
        ),
    ]
