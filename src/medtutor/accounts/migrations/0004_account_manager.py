"""The user model's manager became accounts.AccountManager (a prepared lookup by primary key); no schema change."""

import medtutor.accounts.models
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [("accounts", "0003_subgroup_attribute")]

    operations = [
        migrations.AlterModelManagers(
            name="user",
            managers=[("objects", medtutor.accounts.models.AccountManager())],
        ),
    ]
