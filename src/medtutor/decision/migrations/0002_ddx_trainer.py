from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("decision", "0001_registry")]
    operations: list = []
