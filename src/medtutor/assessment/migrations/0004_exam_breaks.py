from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("assessment", "0003_short_answer")]
    operations: list = []
