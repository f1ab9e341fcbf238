# LTI 1.3 tool: platforms, used nonces, resource links, launches and the AGS score outbox.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0002_external_identity'),
        ('assessment', '0004_exam_breaks'),
        ('integrations', '0002_xapi_outbox'),
        ('simulation', '0001_initial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='LtiPlatform',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=150)),
                ('issuer', models.CharField(max_length=300)),
                ('client_id', models.CharField(max_length=255)),
                ('deployment_ids', models.JSONField(default=list)),
                ('auth_login_url', models.URLField(max_length=500)),
                ('auth_token_url', models.URLField(max_length=500)),
                ('jwks_url', models.URLField(max_length=500)),
                ('created_at', models.DateTimeField()),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('issuer', 'client_id'), name='lti_platform_once')],
            },
        ),
        migrations.CreateModel(
            name='LtiResourceLink',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('deployment_id', models.CharField(max_length=255)),
                ('resource_link_id', models.CharField(max_length=255)),
                ('title', models.CharField(blank=True, max_length=255)),
                ('context_id', models.CharField(blank=True, max_length=255)),
                ('context_title', models.CharField(blank=True, max_length=255)),
                ('target', models.CharField(blank=True, max_length=60)),
                ('lineitem_url', models.URLField(blank=True, max_length=500)),
                ('ags_scopes', models.JSONField(default=list)),
                ('memberships_url', models.URLField(blank=True, max_length=500)),
                ('updated_at', models.DateTimeField()),
                ('cohort', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='accounts.cohort')),
                ('platform', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='resource_links', to='integrations.ltiplatform')),
            ],
        ),
        migrations.CreateModel(
            name='LtiLaunch',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('lti_user_id', models.CharField(max_length=255)),
                ('launched_at', models.DateTimeField()),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('resource_link', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='launches', to='integrations.ltiresourcelink')),
            ],
        ),
        migrations.CreateModel(
            name='LtiScore',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('payload', models.JSONField()),
                ('created_at', models.DateTimeField()),
                ('next_attempt_at', models.DateTimeField()),
                ('claimed_until', models.DateTimeField(blank=True, null=True)),
                ('attempts', models.PositiveIntegerField(default=0)),
                ('last_error', models.CharField(blank=True, max_length=300)),
                ('sent_at', models.DateTimeField(blank=True, null=True)),
                ('attempt', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='assessment.attempt')),
                ('resource_link', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='scores', to='integrations.ltiresourcelink')),
                ('vp_session', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='simulation.session')),
            ],
        ),
        migrations.CreateModel(
            name='LtiNonce',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('nonce', models.CharField(max_length=255)),
                ('expires_at', models.DateTimeField()),
                ('platform', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='integrations.ltiplatform')),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('platform', 'nonce'), name='lti_nonce_once')],
            },
        ),
        migrations.AddConstraint(
            model_name='ltiresourcelink',
            constraint=models.UniqueConstraint(fields=('platform', 'deployment_id', 'resource_link_id'), name='lti_resource_link_once'),
        ),
        migrations.AddIndex(
            model_name='ltilaunch',
            index=models.Index(fields=['user', 'launched_at'], name='integration_user_id_3fe404_idx'),
        ),
        migrations.AddIndex(
            model_name='ltiscore',
            index=models.Index(fields=['sent_at', 'next_attempt_at'], name='integration_sent_at_e069f9_idx'),
        ),
        migrations.AddConstraint(
            model_name='ltiscore',
            constraint=models.UniqueConstraint(fields=('resource_link', 'attempt'), name='lti_score_once'),
        ),
        migrations.AddConstraint(
            model_name='ltiscore',
            constraint=models.UniqueConstraint(fields=('resource_link', 'vp_session'), name='lti_case_score_once'),
        ),
        migrations.AddConstraint(
            model_name='ltiscore',
            constraint=models.CheckConstraint(condition=models.Q(('attempt__isnull', True), ('vp_session__isnull', True), _connector='XOR'), name='lti_score_scores_one_thing'),
        ),
    ]
