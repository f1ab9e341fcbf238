from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("assessment", "0002_cat")]
    operations: list = []
